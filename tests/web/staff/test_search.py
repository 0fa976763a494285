"""Searching customers and loans (personal data POSTed, never in a URL), the customer's page
masked, and revealing clear data: refused without the permission, audited with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.identity.models import User
from lendbridge.web import i18n
from tests.servicing.conftest import Book
from tests.servicing.factories import PEOPLE
from tests.web.conftest import Browser


def _phone(engine: Engine, customer: object) -> str:
    with Session(engine) as session:
        user = session.get(User, customer)
        assert user is not None
        assert user.phone is not None
        return user.phone


def _reveals(engine: Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "identity.pii_reveal")
        ).all()
        session.expunge_all()
        return list(rows)


def test_search_by_phone_and_resident_id_finds_the_customer_masked(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    zhang = book.customer("zhang")
    book.customer("li")
    phone = _phone(engine, zhang)
    browser.staff_sign_in(enrolled_staff("customer_service"))
    # A search is a POST: a GET with the number in the address finds nothing.
    page = browser.get(f"/staff/search?query={phone}")
    assert page.status_code == 200
    assert "/staff/customers/" not in page.text
    found = browser.submit("/staff/search", data={"query": phone})
    assert found.status_code == 200
    assert f"/staff/customers/{zhang}" in found.text
    assert found.text.count("/staff/customers/") == 1
    assert phone not in found.text  # masked, and the typed number is not shown again
    assert PEOPLE["zhang"][0] not in found.text
    by_id = browser.submit("/staff/search", data={"query": PEOPLE["zhang"][1]})
    assert f"/staff/customers/{zhang}" in by_id.text
    assert PEOPLE["zhang"][1] not in by_id.text
    nobody = browser.submit("/staff/search", data={"query": "13711112222"})
    assert 'id="none"' in nobody.text
    wrong = browser.submit("/staff/search", data={"query": "12345"})
    assert wrong.status_code == 422
    assert 'id="e-query"' in wrong.text


def test_search_finds_a_loan_by_its_id(browser: Browser, enrolled_staff: Any, book: Book) -> None:
    loan = book.create(book.customer("zhang"))
    browser.staff_sign_in(enrolled_staff("finance"))  # loans, but no customer search
    found = browser.submit("/staff/search", data={"query": str(loan.id)})
    assert found.status_code == 200
    assert f"/staff/loans/{loan.id}" in found.text
    refused = browser.submit("/staff/search", data={"query": "13800000001"})
    assert refused.status_code == 422


def test_reveal_is_refused_without_the_permission(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    zhang = book.customer("zhang")
    browser.staff_sign_in(enrolled_staff("loan_officer"))  # reads users, may not reveal
    page = browser.get(f"/staff/customers/{zhang}")
    assert page.status_code == 200
    assert "*" in page.text
    assert PEOPLE["zhang"][0] not in page.text
    assert "/reveal" not in page.text
    refused = browser.submit(
        f"/staff/customers/{zhang}", f"/staff/customers/{zhang}/reveal", {"reason": "a call"}
    )
    assert refused.status_code == 403
    assert PEOPLE["zhang"][0] not in refused.text
    assert _reveals(engine) == []


def test_reveal_shows_clear_data_once_and_is_audited(
    browser: Browser, enrolled_staff: Any, book: Book, engine: Engine
) -> None:
    zhang = book.customer("zhang")
    loan = book.create(zhang)
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("compliance_officer"))
    page = browser.get(f"/staff/customers/{zhang}")
    assert f"/staff/loans/{loan.id}" in page.text
    path = f"/staff/customers/{zhang}/reveal"
    short = browser.submit(f"/staff/customers/{zhang}", path, {"reason": "x"})
    assert short.status_code == 422
    assert 'id="e-reason"' in short.text
    assert _reveals(engine) == []
    shown = browser.submit(
        f"/staff/customers/{zhang}", path, {"reason": "the customer called about a refund"}
    )
    assert shown.status_code == 200
    assert PEOPLE["zhang"][0] in shown.text
    assert PEOPLE["zhang"][1] in shown.text
    assert "no-store" in shown.headers["cache-control"]
    (audit,) = _reveals(engine)
    assert audit.target_id == str(zhang)
    assert audit.after["reason"] == "the customer called about a refund"
    assert set(audit.after["fields"]) == {"phone", "name", "resident_id", "email", "address"}
    again = browser.get(f"/staff/customers/{zhang}")
    assert PEOPLE["zhang"][0] not in again.text  # masked again on the next page


def test_a_staff_member_is_no_customer(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    person = enrolled_staff("compliance_officer")
    browser.staff_sign_in(person)
    with Session(engine) as session:
        staff_id = session.scalar(select(User.id).where(User.username == person.username))
        assert session.scalar(select(func.count()).select_from(User)) == 1
    assert browser.get(f"/staff/customers/{staff_id}").status_code == 404
