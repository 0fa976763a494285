"""The staff dashboard: its figures are what the data says; sections follow permissions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from lendbridge.servicing.models import Loan
from lendbridge.web import i18n
from lendbridge.web.pages import staff_dashboard_queries as q
from tests.servicing.conftest import Book
from tests.web.conftest import Browser


def _figure(html: str, ident: str) -> str:
    found = re.search(rf'id="{ident}">([^<]*)<', html)
    assert found, ident
    return found.group(1)


def test_the_dashboard_shows_the_portfolio_as_the_data_says(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    first = book.disburse(book.create(book.customer("zhang"), amount=12_000_00).id)
    second = book.disburse(book.create(book.customer("li"), amount=5_000_00).id)
    book.create(book.customer("wang"), amount=3_000_00)  # not disbursed: not in the figures
    with Session(engine) as session:  # the second loan is 40 days past due
        session.execute(
            update(Loan)
            .where(Loan.id == second.id)
            .values(dpd=40, delinquency_bucket="M2", classification="special_mention")
        )
        session.commit()
    outstanding = first.outstanding.principal + second.outstanding.principal
    assert outstanding == 17_000_00

    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("risk_analyst"))
    page = browser.get("/staff")
    assert page.status_code == 200
    html = page.text
    assert _figure(html, "fig-active") == "2"
    assert _figure(html, "fig-outstanding") == "CN¥17,000.00"
    assert _figure(html, "fig-disbursed") == "CN¥17,000.00"
    assert _figure(html, "fig-overdue") == "29.41%"  # 5,000 of 17,000
    assert _figure(html, "fig-queue") == "1"
    assert "<svg" in html
    assert 'class="bar' in html
    # The month's outstanding comes from the ledger: it agrees with the loans.
    with Session(engine) as session:
        months = q.by_month(session, book.today())
        classes, buckets = q.slices(session)
    assert len(months) == 12
    assert months[-1].outstanding == outstanding
    assert months[-1].disbursed == 17_000_00
    assert sum(p.disbursed for p in months[:-1]) == 0
    assert {c.key: (c.loans, c.principal) for c in classes if c.loans} == {
        "normal": (1, 12_000_00),
        "special_mention": (1, 5_000_00),
    }
    assert {b.key: b.loans for b in buckets if b.loans} == {"current": 1, "M2": 1}
    table = html.split('id="t-class"')[1].split("</table>")[0]
    assert 'Special mention</td><td class="num">1</td><td class="num">CN¥5,000.00' in table
    # The risk analyst reads applications but no promises section without collections…
    assert 'id="fig-approval"' in html


def test_a_section_is_hidden_without_its_permission(
    browser: Browser, enrolled_staff: Any, book: Book
) -> None:
    book.disburse(book.create(book.customer("zhang")).id)
    browser.staff_sign_in(enrolled_staff("admin"))  # no loans, applications or collections
    page = browser.get("/staff")
    assert page.status_code == 200
    assert 'id="fig-active"' not in page.text
    assert 'id="fig-approval"' not in page.text
    assert 'id="fig-queue"' not in page.text


def test_the_collector_sees_the_queue_and_promises_but_no_applications(
    browser: Browser, enrolled_staff: Any
) -> None:
    browser.staff_sign_in(enrolled_staff("collector"))
    page = browser.get("/staff")
    assert page.status_code == 200
    assert _figure(page.text, "fig-queue") == "0"
    assert 'id="fig-approval"' not in page.text


def test_the_approval_rate_counts_offers_over_decisions() -> None:
    assert q.Outcomes(approved=3, declined=1, in_review=5).approval_rate == 75
    assert q.Outcomes(approved=0, declined=0, in_review=2).approval_rate is None
    assert [m.isoformat() for m in q.months_back(dt.date(2026, 2, 10), 3)] == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]
