"""Staff in a real browser: a loan officer signs in with TOTP, approves a manual-review case and
finds the customer's loan; an auditor verifies the audit trail. Each in Chinese and English,
at a desk and on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from lendbridge.origination.models import ApplicationStatus, LoanApplication
from tests.identity.factories import PASSWORD
from tests.origination.conftest import Desk, desk
from tests.payments.conftest import payments
from tests.servicing.conftest import book
from tests.web.browser.conftest import EVERY_VARIANT, Visit, text
from tests.web.conftest import StaffPerson

__all__ = ["book", "desk", "payments"]
GRADE_D = (510, 530)  # a score the default policy sends to a loan officer


def staff_sign_in(tab: Visit, person: StaffPerson, language: str, start: str) -> None:
    t = lambda message: text(message, language)  # noqa: E731
    page = tab.go(start)
    page.get_by_label(t("Username")).fill(person.username)
    page.get_by_label(t("Password")).fill(PASSWORD)
    page.get_by_label(t("Authenticator code")).fill(person.code())
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(tab.base + start)


@pytest.mark.parametrize(("viewport", "language"), EVERY_VARIANT)
def test_officer_approves_a_review_case_and_finds_the_loan(
    open_tab: Any, enrolled_staff: Any, desk: Desk, viewport: str, language: str
) -> None:
    t = lambda message: text(message, language)  # noqa: E731
    borrower = desk.borrower("zhang")
    case = desk.apply(borrower, desk.body(desk.features_scoring(*GRADE_D)))
    assert case.status == ApplicationStatus.IN_REVIEW
    customer = desk.book.run(lambda s: s.get(LoanApplication, case.id).customer_id)
    earlier = desk.book.create(customer)  # a loan the customer already has
    desk.book.disburse(earlier.id)
    phone = desk.book.run(lambda s: _phone_of(s, customer))

    officer = enrolled_staff("loan_officer")
    tab: Visit = open_tab(viewport, language)
    staff_sign_in(tab, officer, language, "/staff/review")
    page = tab.page
    tab.shot("queue")
    page.locator(f'a[href="/staff/review/{case.id}"]').click()
    page.wait_for_url(f"**/staff/review/{case.id}")
    tab.shot("case")
    page.get_by_label(t("Note")).fill("收入流水已核实 / income checked")
    page.get_by_role("button", name=t("Approve"), exact=True).click()
    page.wait_for_load_state()
    assert desk.get(case.id).status == ApplicationStatus.OFFERED
    tab.shot("approved")

    tab.go("/staff/search")
    page.get_by_label(t("Mobile number, resident ID, loan id or contract number")).fill(phone)
    page.get_by_role("button", name=t("Search"), exact=True).click()
    assert phone not in page.url  # searched by a POST: the number never in the address
    tab.shot("found")
    page.locator(f'a[href="/staff/customers/{customer}"]').first.click()
    page.wait_for_url(f"**/staff/customers/{customer}")
    page.locator(f'a[href="/staff/loans/{earlier.id}"]').first.click()
    page.wait_for_url(f"**/staff/loans/{earlier.id}")
    expect(page.locator("h1")).to_be_visible()
    assert phone not in page.content()  # masked on the loan page
    tab.shot("loan")


@pytest.mark.parametrize(("viewport", "language"), EVERY_VARIANT)
def test_auditor_verifies_the_audit_trail(
    open_tab: Any, enrolled_staff: Any, viewport: str, language: str
) -> None:
    t = lambda message: text(message, language)  # noqa: E731
    auditor = enrolled_staff("auditor")
    tab: Visit = open_tab(viewport, language)
    staff_sign_in(tab, auditor, language, "/staff/audit")
    page = tab.page
    assert page.locator("#t-audit tbody tr").count() >= 1  # at least the sign-in's records
    page.get_by_role("button", name=t("Verify the chain")).last.click()
    result = page.locator("#verify-result")
    expect(result).to_be_visible()
    assert "alert-ok" in (result.get_attribute("class") or "")
    tab.shot("verified")


def _phone_of(session: Any, customer: Any) -> str:
    from lendbridge.identity.models import User

    user = session.get(User, customer)
    assert user is not None
    return str(user.phone)
