"""The staff loan page: schedule, transactions, ledger entries, payment orders and audit
history, each section with its read permission."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.ledger.models import Entry
from lendbridge.servicing.models import LoanTransaction
from lendbridge.web import i18n
from tests.servicing.conftest import Book
from tests.web.conftest import Browser


def test_the_loan_page_shows_the_schedule_and_the_ledger_entries(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    loan = book.disburse(book.create(book.customer("zhang"), amount=12_000_00, term=12).id)
    with Session(engine) as session:
        entry_ids = session.scalars(
            select(LoanTransaction.entry_id).where(LoanTransaction.loan_id == loan.id)
        ).all()
        descriptions = session.scalars(
            select(Entry.description).where(Entry.id.in_([e for e in entry_ids if e]))
        ).all()
    assert descriptions
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("auditor"))  # every read permission
    page = browser.get(f"/staff/loans/{loan.id}")
    assert page.status_code == 200
    html = page.text
    schedule = html.split('id="t-schedule"')[1].split("</table>")[0]
    assert schedule.count("<tr>") == 1 + len(loan.installments)
    assert len(loan.installments) >= 12
    entries = html.split('id="t-entries"')[1].split("</table>")[0]
    assert "1303.002" in entries  # the principal receivable
    for description in descriptions:
        assert description in entries
    assert 'id="t-orders"' in html  # the disbursement's payment order
    assert 'id="t-audit"' in html
    assert "CN¥12,000.00" in html


def test_sections_follow_the_read_permissions(
    browser: Browser, enrolled_staff: Any, book: Book
) -> None:
    loan = book.disburse(book.create(book.customer("zhang")).id)
    browser.staff_sign_in(enrolled_staff("collector"))  # loans, no ledger, payments or audit
    page = browser.get(f"/staff/loans/{loan.id}")
    assert page.status_code == 200
    assert 'id="t-schedule"' in page.text
    assert 'id="t-entries"' not in page.text
    assert 'id="t-orders"' not in page.text
    assert 'id="t-audit"' not in page.text


def test_the_loan_page_needs_loans_read(browser: Browser, enrolled_staff: Any, book: Book) -> None:
    loan = book.create(book.customer("zhang"))
    browser.staff_sign_in(enrolled_staff("admin"))
    assert browser.get(f"/staff/loans/{loan.id}").status_code == 403
    browser.staff_sign_in(enrolled_staff("auditor"))
    assert browser.get("/staff/loans/01a20037-0000-7000-8000-000000000000").status_code == 404
