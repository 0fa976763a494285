"""A borrower's whole journey in a real browser — register with an SMS code, verify their
identity, bind a card, apply, see the offer, sign with a one-time code, receive the money
through the (simulated) channel and repay an installment — and a declined applicant reading
the reasons. Each in Chinese on a phone and in English at a desk."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from lendbridge.identity.models import User
from lendbridge.payments import runtime
from lendbridge.payments.channels.registry import Adapters
from lendbridge.servicing.models import Loan, LoanRepayment, LoanStatus, RepaymentStatus
from tests.origination.conftest import Desk, desk
from tests.origination.test_applications import DECLINED, GRADE_A
from tests.payments.conftest import payments
from tests.servicing.conftest import book
from tests.servicing.factories import PEOPLE
from tests.web.browser.conftest import EVERY_VARIANT, LiveServer, Visit, text

__all__ = ["book", "desk", "payments"]
CUSTOMER_PASSWORD = "a long enough secret"  # tests/servicing/factories.py's borrowers


def fill_application(page: Page, desk: Desk, score: tuple[int, int]) -> None:
    page.locator('select[name="plan"]').select_option("LOAN-EI:12")
    page.locator('input[name="amount"]').fill("10,000")
    page.locator('input[name="monthly_income"]').fill("15000")
    for name, value in desk.features_scoring(*score).items():
        field = page.locator(f'[name="f_{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))


def use_the_scripted_channel(desk: Desk) -> None:
    """The server's start configured real channel adapters; the journey's money goes through
    the scripted channel of the payments fixture, driven by ``desk.book.drain()``."""
    runtime.configure(
        runtime.PaymentsRuntime(adapters=Adapters(overrides={"sim": desk.book.p.fake}))
    )


@pytest.mark.parametrize(("viewport", "language"), EVERY_VARIANT)
def test_register_verify_apply_sign_receive_and_repay(
    open_tab: Any, live_server: LiveServer, desk: Desk, viewport: str, language: str
) -> None:
    use_the_scripted_channel(desk)
    t = lambda message: text(message, language)  # noqa: E731
    tab: Visit = open_tab(viewport, language, allow={422})
    phone = "13700000001"
    name, resident_id, card, mobile = PEOPLE["wang"]

    page = tab.go("/register")
    page.get_by_label(t("Mobile number")).fill(phone)
    page.get_by_role("button", name=t("Send the code")).click()
    page.get_by_label(t("Code"), exact=True).fill(live_server.last_code(phone))
    page.get_by_label(t("Password")).fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name=t("Create the account")).click()
    page.wait_for_url(tab.base + "/")
    tab.shot("registered")

    tab.go("/me/identity")
    page.get_by_label(t("Name")).fill(name)
    page.get_by_label(t("Resident ID")).fill(resident_id)
    page.get_by_role("button", name=t("Verify")).click()
    tab.go("/me/cards")
    page.get_by_label(t("Card number")).fill(card)
    page.get_by_label(t("Mobile number held by the bank")).fill(mobile)
    page.get_by_role("button", name=t("Bind the card")).click()
    expect(page.get_by_text("****").first).to_be_visible()  # the card, masked
    tab.shot("verified")

    tab.go("/apply")
    fill_application(page, desk, GRADE_A)
    tab.shot("application")
    page.get_by_role("button", name=t("Apply"), exact=True).click()
    page.wait_for_url("**/applications/*")
    expect(page.locator(".apr")).to_be_visible()  # the APR, before any other rate
    assert page.locator("table.schedule tbody tr").count() == 12
    tab.shot("offer")

    page.get_by_role("button", name=t("Send me a code")).click()
    page.get_by_label(t("Code"), exact=True).fill(live_server.last_code(phone))
    page.get_by_role("button", name=t("Sign and receive the money")).click()
    page.wait_for_url("**/loans/*")
    tab.shot("signed")

    desk.book.drain()  # the channel pays out; the loan becomes active
    loans = desk.book.run(lambda s: s.query(Loan).all())
    assert [loan.status for loan in loans] == [LoanStatus.ACTIVE]
    page.reload()
    tab.shot("money-received")

    page.get_by_role("button", name=t("Pay from my bank card")).click()
    desk.book.drain()
    page.reload()
    tab.shot("repaid")
    # Paid before its due date, the installment's money waits in the borrower's balance (the
    # close of the due date applies it): collected once, for exactly the first installment.
    loan = desk.book.loan(loans[0].id)
    repayments = desk.book.run(lambda s: s.query(LoanRepayment).all())
    first = next(i for i in loan.installments if i.number == 1)
    due = first.principal_due + first.interest_due + first.fee_due
    assert [(r.status, r.amount) for r in repayments] == [(RepaymentStatus.APPLIED, due)]
    expect(page.get_by_text(text("Repayments", language), exact=True).first).to_be_visible()


@pytest.mark.parametrize(("viewport", "language"), EVERY_VARIANT)
def test_a_declined_applicant_reads_why(
    open_tab: Any, desk: Desk, viewport: str, language: str
) -> None:
    t = lambda message: text(message, language)  # noqa: E731
    applicant = desk.borrower("li")
    phone = desk.book.run(lambda s: s.get(User, uuid.UUID(str(applicant.user_id))).phone)
    tab: Visit = open_tab(viewport, language)
    page = tab.go("/login")
    page.get_by_label(t("Mobile number")).fill(phone)
    page.get_by_label(t("Password")).fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(tab.base + "/")
    tab.go("/apply")
    fill_application(page, desk, DECLINED)
    page.get_by_role("button", name=t("Apply"), exact=True).click()
    page.wait_for_url("**/applications/*")
    expect(page.get_by_text(t("We cannot offer you a loan this time"))).to_be_visible()
    reasons = page.locator("ul.reasons li")
    assert reasons.count() >= 1
    first = reasons.first.inner_text()
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in first)
    assert has_chinese == (language == "zh_CN"), first  # the reasons in the page's language
    tab.shot("declined")
