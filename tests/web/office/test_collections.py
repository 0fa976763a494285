"""The collector queue and a loan's collection work through the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.identity.models import User
from lendbridge.servicing.collections.models import (
    CollectionAssignment,
    CollectionContact,
    PromiseToPay,
)
from tests.servicing.collections.conftest import close
from tests.servicing.conftest import Book
from tests.web.conftest import Browser
from tests.web.office.helpers import switch_to

MAR_18 = dt.date(2026, 3, 18)


def _overdue(book: Book) -> str:
    loan = book.disburse(book.create(book.customer("zhang"), 12_000_00, 12).id)
    close(book, MAR_18, batch_size=50)
    return str(loan.id)


def test_the_queue_a_contact_and_a_promise(
    browser: Browser, book: Book, enrolled_staff: Any, engine: Engine
) -> None:
    loan_id = _overdue(book)
    switch_to(browser, enrolled_staff("collector"))
    listing = browser.get("/staff/collections")
    assert listing.status_code == 200
    assert f"/staff/collections/{loan_id}" in listing.text
    assert "M2" in listing.text
    assert f"/staff/collections/{loan_id}" not in browser.get("/staff/collections?bucket=M1").text

    page = f"/staff/collections/{loan_id}"
    logged = browser.submit(
        page,
        f"{page}/contacts",
        data={"channel": "phone", "outcome": "promised", "note": "call back 13912345678"},
    )
    assert logged.status_code == 200
    assert "139****5678" in logged.text
    assert "13912345678" not in logged.text
    assert "电话" in logged.text  # words, not the stored codes
    assert "承诺还款" in logged.text
    assert ">phone<" not in logged.text
    assert ">promised<" not in logged.text

    bad = browser.submit(page, f"{page}/promises", data={"amount": "1.234", "promised_date": ""})
    assert bad.status_code == 422
    assert 'id="e-amount"' in bad.text
    assert 'id="e-promised_date"' in bad.text
    early = browser.submit(
        page, f"{page}/promises", data={"amount": "500", "promised_date": "2026-01-01"}
    )
    assert early.status_code == 422
    assert 'id="e-promised_date"' in early.text

    promised = browser.submit(
        page, f"{page}/promises", data={"amount": "1,500.50", "promised_date": "2026-03-25"}
    )
    assert promised.status_code == 200
    with Session(engine) as session:
        contact = session.scalars(select(CollectionContact)).one()
        assert (contact.channel, contact.outcome) == ("phone", "promised")
        promise = session.scalars(select(PromiseToPay)).one()
        assert promise.amount == 150050
        assert promise.promised_date == dt.date(2026, 3, 25)
        actions = set(session.scalars(select(AuditRecord.action)))
    assert "collections.promise.open" in actions
    assert "collections.contact" in " ".join(actions)


def test_collections_need_their_permissions(
    browser: Browser, book: Book, enrolled_staff: Any
) -> None:
    loan_id = _overdue(book)
    switch_to(browser, enrolled_staff("customer_service"))  # reads, manages nothing
    page = browser.get(f"/staff/collections/{loan_id}")
    assert page.status_code == 200
    assert "/contacts" not in page.text
    refused = browser.submit(
        f"/staff/collections/{loan_id}",
        f"/staff/collections/{loan_id}/contacts",
        data={"channel": "phone", "outcome": "reached"},
    )
    assert refused.status_code == 403
    switch_to(browser, enrolled_staff("admin"))
    assert browser.get("/staff/collections").status_code == 403
    browser.get("/lang/en?next=/staff")
    assert browser.get("/staff/collections").status_code == 403


def test_english_collections_pages_render(
    browser: Browser, book: Book, enrolled_staff: Any
) -> None:
    loan_id = _overdue(book)
    switch_to(browser, enrolled_staff("collector"))
    browser.get("/lang/en?next=/staff")
    for path in ("/staff/collections", f"/staff/collections/{loan_id}"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert '<html lang="en">' in page.text
    assert "Record a promise to pay" in browser.get(f"/staff/collections/{loan_id}").text


def _user_id(engine: Engine, username: str) -> str:
    with Session(engine) as session:
        return str(session.scalars(select(User.id).where(User.username == username)).one())


def _cancel_action(browser: Browser, engine: Engine, page: str) -> str:
    """Record a promise on the loan's page; the address of the form that cancels it."""
    made = browser.submit(
        page, f"{page}/promises", data={"amount": "800", "promised_date": "2026-03-25"}
    )
    assert made.status_code == 200
    with Session(engine) as session:
        promise_id = session.scalars(select(PromiseToPay.id)).one()
    return f"{page}/promises/{promise_id}/cancel"


def test_assign_the_loan_to_a_collector(
    browser: Browser, book: Book, enrolled_staff: Any, engine: Engine
) -> None:
    loan_id = _overdue(book)
    lead, other = enrolled_staff("collector"), enrolled_staff("collector")
    reader = enrolled_staff("customer_service")  # holds no collections.manage
    other_id, reader_id = _user_id(engine, other.username), _user_id(engine, reader.username)
    switch_to(browser, lead)
    page = f"/staff/collections/{loan_id}"
    opened = browser.get(page)
    assert f'<option value="{other_id}"' in opened.text
    assert f'<option value="{reader_id}"' not in opened.text

    refused = browser.submit(page, f"{page}/assign", data={"collector": reader_id})
    assert refused.status_code == 422
    assert 'id="e-collector"' in refused.text
    assert "collections.manage" in refused.text
    chosen = browser.submit(page, f"{page}/assign", data={"collector": "nobody"})
    assert chosen.status_code == 422
    assert 'id="e-collector"' in chosen.text
    with Session(engine) as session:
        assert session.scalars(select(CollectionAssignment)).all() == []

    done = browser.submit(page, f"{page}/assign", data={"collector": other_id})
    assert done.status_code == 200
    assert "已分配" in done.text  # the flash, in the page's language
    assert f"{other.username}" in done.text
    with Session(engine) as session:
        row = session.scalars(select(CollectionAssignment)).one()
        assert str(row.collector_id) == other_id
        assert str(row.loan_id) == loan_id
        actions = list(session.scalars(select(AuditRecord.action)))
    assert "collections.loan.assign" in actions


def test_cancel_an_open_promise(
    browser: Browser, book: Book, enrolled_staff: Any, engine: Engine
) -> None:
    loan_id = _overdue(book)
    switch_to(browser, enrolled_staff("collector"))
    page = f"/staff/collections/{loan_id}"
    action = _cancel_action(browser, engine, page)
    assert f'action="{action}"' in browser.get(page).text

    cancelled = browser.submit(page, action)
    assert cancelled.status_code == 200
    assert f'action="{action}"' not in cancelled.text  # only an open promise can be cancelled
    with Session(engine) as session:
        assert session.scalars(select(PromiseToPay.status)).one() == "cancelled"
    again = browser.submit(page, action)
    assert again.status_code == 409
    assert 'id="form-error"' in again.text
    assert "cancelled" in again.text


def test_assigning_and_cancelling_need_the_permission_and_the_form_token(
    browser: Browser, book: Book, enrolled_staff: Any, engine: Engine
) -> None:
    loan_id = _overdue(book)
    collector = enrolled_staff("collector")
    switch_to(browser, collector)
    page = f"/staff/collections/{loan_id}"
    cancel = _cancel_action(browser, engine, page)
    someone = _user_id(engine, collector.username)
    # Without the form's token: refused before the page runs.
    assert browser.client.post(f"{page}/assign", data={"collector": someone}).status_code == 403
    assert browser.client.post(cancel, data={}).status_code == 403

    switch_to(browser, enrolled_staff("customer_service"))  # reads, manages nothing
    opened = browser.get(page)
    assert "/assign" not in opened.text
    assert "/cancel" not in opened.text
    assert browser.submit(page, f"{page}/assign", data={"collector": someone}).status_code == 403
    assert browser.submit(page, cancel).status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(CollectionAssignment)).all() == []
        assert session.scalars(select(PromiseToPay.status)).one() == "open"
