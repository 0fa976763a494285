"""The back-office pages show words for the stored codes (statuses, kinds), in the page's
language, never the codes themselves."""

from __future__ import annotations

from typing import Any

from lendbridge.servicing.models import RepaymentPurpose
from lendbridge.web import i18n
from tests.origination.conftest import Desk
from tests.servicing.conftest import Book
from tests.web.conftest import Browser
from tests.web.office.helpers import product_form, request_ids, switch_to

GRADE_D = (510, 530)  # a score the default policy sends to review


def _table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"')[1].split("</table>")[0]


def _paid_off(book: Book) -> Any:
    loan = book.disburse(book.create(book.customer("zhang")).id)
    book.repay(loan.id, None, RepaymentPurpose.PAYOFF)
    paid = book.loan(loan.id)
    assert paid.status == "paid_off"
    return paid


def test_the_loan_pages_show_words_in_chinese(
    browser: Browser, enrolled_staff: Any, book: Book
) -> None:
    loan = _paid_off(book)
    browser.staff_sign_in(enrolled_staff("auditor"))
    html = browser.get(f"/staff/loans/{loan.id}").text
    assert "已结清" in html.split('id="status"')[1].split("</span>")[0]
    transactions = _table(html, "t-transactions")
    assert "放款" in transactions
    assert "还款" in transactions
    assert "disbursement" not in transactions
    assert "repayment" not in transactions
    assert "已还" in _table(html, "t-schedule")
    assert "成功" in _table(html, "t-orders")
    assert "正常" in html.split('id="classification"')[1].split("</dd>")[0]
    assert "已结清" in _table(html, "t-transitions")
    assert ">paid_off<" not in html  # audit actions (loans.loan.paid_off) are codes to filter by
    assert ">succeeded<" not in html
    customer = browser.get(f"/staff/customers/{loan.customer_id}").text
    assert "已结清" in _table(customer, "t-loans")
    assert "详情" in _table(customer, "t-loans")  # the link, not the portal's "Open" (待还)
    assert ">paid_off<" not in customer
    assert "已绑定" in customer.split('id="cards"')[1].split("</ul>")[0]
    found = browser.submit("/staff/search", data={"query": str(loan.id)})
    assert "已结清" in _table(found.text, "t-loans")
    assert ">paid_off<" not in found.text


def test_the_loan_page_shows_words_in_english(
    browser: Browser, enrolled_staff: Any, book: Book
) -> None:
    loan = _paid_off(book)
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("auditor"))
    html = browser.get(f"/staff/loans/{loan.id}").text
    assert 'class="badge ok" id="status">Paid off<' in html
    transactions = _table(html, "t-transactions")
    assert "Disbursement" in transactions
    assert "disbursement" not in transactions
    assert "Paid off" in _table(html, "t-transitions")
    assert ">paid_off<" not in html  # audit actions (loans.loan.paid_off) are codes to filter by


def test_the_review_pages_show_words(browser: Browser, enrolled_staff: Any, desk: Desk) -> None:
    application = desk.apply(desk.borrower("zhang"), desk.body(desk.features_scoring(*GRADE_D)))
    browser.staff_sign_in(enrolled_staff("loan_officer"))
    html = browser.get(f"/staff/review/{application.id}").text
    assert "审核中" in html.split('id="status"')[1].split("</span>")[0]
    assert "日常消费" in html  # the purpose
    assert "受雇" in html  # the employment
    assert "转人工审核" in html  # the decision's outcome
    assert "审核中" in _table(html, "t-history")
    for code in ("in_review", "consumption", "employed"):
        assert f">{code}<" not in html
    browser.client.cookies.set(i18n.COOKIE, "en")
    english = browser.get(f"/staff/review/{application.id}").text
    assert "In review" in english.split('id="status"')[1].split("</span>")[0]
    assert "Everyday spending" in english
    customer = browser.get(f"/staff/customers/{application.customer_id}")
    assert customer.status_code in (200, 403)


def test_the_approvals_inbox_shows_the_decided_status_in_words(
    browser: Browser, enrolled_staff: Any
) -> None:
    switch_to(browser, enrolled_staff("admin"))
    browser.submit("/staff/products/new", data=product_form())
    switch_to(browser, enrolled_staff("compliance_officer"))
    [request_id] = request_ids(browser.get("/staff/approvals").text)
    done = browser.submit(
        "/staff/approvals", f"/staff/approvals/{request_id}/approve", data={"note": "ok"}
    )
    row = done.text.split(f'id="r-{request_id}"')[1].split("</tr>")[0]
    assert "已批准" in row
    assert "approved" not in row
