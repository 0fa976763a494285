"""The back-office lists read their rows in a fixed number of statements, however many rows
they show (no statement per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from tests.origination.conftest import Desk
from tests.servicing.conftest import Book
from tests.web.conftest import Browser

GRADE_D = (510, 530)  # a score the default policy sends to review


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _queue_statements(browser: Browser, engine: Engine) -> int:
    with counting(engine) as statements:
        page = browser.get("/staff/review")
    assert page.status_code == 200
    return len(statements)


def test_the_review_queue_reads_a_fixed_number_of_statements(
    browser: Browser, enrolled_staff: Any, desk: Desk, engine: Engine
) -> None:
    browser.staff_sign_in(enrolled_staff("loan_officer"))
    desk.apply(desk.borrower("zhang"), desk.body(desk.features_scoring(*GRADE_D)))
    one = _queue_statements(browser, engine)
    for who in ("li", "wang"):
        desk.apply(desk.borrower(who), desk.body(desk.features_scoring(*GRADE_D)))
    three = _queue_statements(browser, engine)
    assert three == one


def _customer_statements(browser: Browser, engine: Engine, customer: object) -> int:
    with counting(engine) as statements:
        page = browser.get(f"/staff/customers/{customer}")
    assert page.status_code == 200
    return len(statements)


def test_the_customer_page_reads_a_fixed_number_of_statements(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    zhang = book.customer("zhang")
    book.create(zhang)
    browser.staff_sign_in(enrolled_staff("auditor"))
    one = _customer_statements(browser, engine, zhang)
    book.create(zhang)
    book.create(zhang)
    assert _customer_statements(browser, engine, zhang) == one
