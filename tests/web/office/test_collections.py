"""The collector queue and a loan's collection work through the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.servicing.collections.models import CollectionContact, PromiseToPay
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
