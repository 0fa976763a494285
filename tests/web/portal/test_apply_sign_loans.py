"""Applying from the pages, the decision (offer with its APR first and the plan, or the
reasons of a decline in the page's language), signing with the SMS code, the contract, the
loan page, repaying once for a double submit, and other customers' records being "not
found"."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from lendbridge.origination.models import LoanApplication
from lendbridge.servicing.models import LoanRepayment
from tests.origination.conftest import Desk
from tests.origination.test_applications import DECLINED, GRADE_A
from tests.web.conftest import Browser
from tests.web.portal.conftest import Borrower, sign_in, value_of

APPLICATION = re.compile(r"/applications/([0-9a-f-]{36})$")
LOAN = re.compile(r"/loans/([0-9a-f-]{36})$")


def count(desk: Desk, table: type[Any]) -> int:
    return int(desk.book.run(lambda s: s.scalar(select(func.count()).select_from(table))))


def application_form(desk: Desk, score: tuple[int, int], **changes: str) -> dict[str, str]:
    features = desk.features_scoring(*score)
    data = {
        "plan": "LOAN-EI:12",
        "amount": "10,000",
        "purpose": "consumption",
        "employment": "employed",
        "monthly_income": "15000.00",
        "declared_monthly_obligations": "",
        **{f"f_{name}": str(value) for name, value in features.items()},
    }
    data.update(changes)
    return data


def apply(browser: Browser, data: dict[str, str]) -> tuple[httpx.Response, dict[str, str]]:
    page = browser.get("/apply")
    assert page.status_code == 200, page.text[:500]
    body = {"csrf_token": value_of(page, "csrf_token"), "key": value_of(page, "key"), **data}
    return browser.client.post("/apply", data=body), body


def application_id(page: httpx.Response) -> uuid.UUID:
    found = APPLICATION.search(str(page.url))
    assert found, (page.url, page.text[:800])
    return uuid.UUID(found.group(1))


def offered(browser: Browser, desk: Desk, who: Borrower) -> uuid.UUID:
    sign_in(browser, who)
    page, _ = apply(browser, application_form(desk, GRADE_A))
    assert page.status_code == 200, page.text[:800]
    return application_id(page)


def sign(browser: Browser, web_app: FastAPI, app_id: uuid.UUID) -> httpx.Response:
    url = f"/applications/{app_id}"
    sent = browser.submit(url, f"{url}/code")
    assert sent.status_code == 200, sent.text[:500]
    code = str(web_app.state.sms.sent[-1].params["code"])
    page = browser.get(url)
    signed: httpx.Response = browser.client.post(
        f"{url}/sign",
        data={
            "csrf_token": value_of(page, "csrf_token"),
            "key": value_of(page, "key"),
            "code": code,
        },
    )
    return signed


def test_apply_see_the_offer_with_its_apr_first_and_sign(
    browser: Browser, desk: Desk, borrower: Any, web_app: FastAPI
) -> None:
    zhang: Borrower = borrower("zhang")
    sign_in(browser, zhang)
    form = browser.get("/apply")
    assert 'name="f_credit_history"' in form.text  # the champion's characteristics
    assert 'name="f_credit_amount"' not in form.text  # derived from the amount
    page, body = apply(browser, application_form(desk, GRADE_A))
    app_id = application_id(page)
    assert "年化利率（APR）" in page.text
    text = page.text
    apr = text.index('class="apr"')
    assert apr < text.index("年利率<")  # the APR before any other rate
    assert text.count("<tr>") >= 13  # the plan: a header and 12 installments
    assert "撤回申请" in text

    again = browser.client.post("/apply", data=body)  # a double submit: the same application
    assert application_id(again) == app_id
    assert count(desk, LoanApplication) == 1

    url = f"/applications/{app_id}"
    browser.submit(url, f"{url}/code")
    page = browser.get(url)
    wrong = browser.client.post(
        f"{url}/sign",
        data={
            "csrf_token": value_of(page, "csrf_token"),
            "key": value_of(page, "key"),
            "code": "000000" if web_app.state.sms.sent[-1].params["code"] != "000000" else "111111",
        },
    )
    assert wrong.status_code == 422
    assert 'id="e-code"' in wrong.text

    signed = sign(browser, web_app, app_id)
    assert signed.status_code == 200, signed.text[:800]
    loan = LOAN.search(str(signed.url))
    assert loan, signed.url
    assert "放款中" in signed.text  # paid out next

    contract = browser.get(f"{url}/contract")
    assert contract.status_code == 200
    assert contract.headers["content-type"] == "application/pdf"
    assert contract.headers["content-disposition"].startswith("attachment;")
    assert contract.content.startswith(b"%PDF")

    listed = browser.get("/loans")
    assert f"/loans/{loan.group(1)}" in listed.text
    english = browser.get(f"/lang/en?next=/applications/{app_id}")
    assert "Annual percentage rate (APR)" in english.text
    assert "Download the contract (PDF)" in english.text


def test_a_declined_applicant_reads_the_reasons_in_the_page_language(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    li: Borrower = borrower("li")
    sign_in(browser, li)
    page, _ = apply(browser, application_form(desk, DECLINED))
    app_id = application_id(page)
    assert "很抱歉，本次未能为您提供借款" in page.text
    row = desk.get(app_id)
    assert row.status == "declined"
    reasons = [r.model_dump() for r in row.reasons]
    assert reasons
    assert reasons[0]["zh"] in page.text
    assert reasons[0]["en"] not in page.text
    english = browser.get(f"/lang/en?next=/applications/{app_id}")
    assert reasons[0]["en"] in english.text
    assert "We cannot offer you a loan this time" in english.text


def test_invalid_application_fields_are_named(browser: Browser, desk: Desk, borrower: Any) -> None:
    sign_in(browser, borrower("wang"))
    page, _ = apply(
        browser,
        application_form(desk, GRADE_A, amount="12.345", f_credit_history="nonsense"),
    )
    assert page.status_code == 422
    assert 'id="e-amount"' in page.text
    assert 'id="e-f_credit_history"' in page.text
    assert count(desk, LoanApplication) == 0


def test_another_customers_application_and_loan_are_not_found(
    browser: Browser, desk: Desk, borrower: Any, web_app: FastAPI
) -> None:
    zhang: Borrower = borrower("zhang")
    app_id = offered(browser, desk, zhang)
    signed = sign(browser, web_app, app_id)
    loan_path = str(signed.url).removeprefix(str(browser.client.base_url))
    browser.submit("/", "/logout")

    sign_in(browser, borrower("li"))
    assert browser.get(f"/applications/{app_id}").status_code == 404
    assert browser.get(f"/applications/{app_id}/contract").status_code == 404
    assert browser.get(loan_path).status_code == 404
    withdraw = browser.submit("/", f"/applications/{app_id}/withdraw")
    assert withdraw.status_code == 404
    assert zhang.phone not in browser.get("/loans").text


def test_repay_creates_one_payment_order_for_a_double_submit(
    browser: Browser, desk: Desk, borrower: Any, web_app: FastAPI
) -> None:
    zhang: Borrower = borrower("zhang")
    app_id = offered(browser, desk, zhang)
    signed = sign(browser, web_app, app_id)
    loan_path = str(signed.url).removeprefix(str(browser.client.base_url))
    desk.book.drain()  # the disbursement goes out and succeeds: the loan is active

    page = browser.get(loan_path)
    assert page.status_code == 200
    assert "从银行卡扣款" in page.text
    assert "今日结清" in page.text  # the payoff quote
    amount = value_of(page, "amount")
    assert amount  # defaults to what is due
    body = {
        "csrf_token": value_of(page, "csrf_token"),
        "key": value_of(page, "key"),
        "purpose": "installments",
        "amount": amount,
    }
    first = browser.client.post(f"{loan_path}/repay", data=body)
    second = browser.client.post(f"{loan_path}/repay", data=body)
    assert first.status_code == second.status_code == 200
    rows = desk.book.run(lambda s: s.scalars(select(LoanRepayment)).all())
    assert len(rows) == 1
    assert rows[0].order_id is not None

    bad = browser.client.post(
        f"{loan_path}/repay", data={**body, "key": value_of(page, "key"), "amount": "1.234"}
    )
    assert bad.status_code == 422
    assert 'id="e-amount"' in bad.text

    desk.book.drain()
    notes = browser.get("/notifications")
    assert "借款已发放到您的银行卡" in notes.text
    english = browser.get(f"/lang/en?next={loan_path}")
    assert "Repayment plan" in english.text
