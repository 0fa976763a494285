"""The needs questionnaire page: the answer is stored through the service of
``POST /v1/me/needs`` and the home page's recommendations follow it; every refused field says
why next to itself and nothing is stored; a borrower sees only their own answer."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.origination.needs_models import CustomerNeed
from tests.origination.conftest import Desk
from tests.web.conftest import Browser
from tests.web.portal.conftest import Borrower, sign_in, value_of

ANSWER = {
    "purpose": "education",
    "amount": "5,000",
    "term_months": "6",
    "employment": "employed",
    "monthly_income": "¥12,000.50",
    "monthly_obligations": "",
}


def answers(desk: Desk, who: Borrower) -> list[CustomerNeed]:
    def load(session: Session) -> list[CustomerNeed]:
        rows = session.scalars(select(CustomerNeed).where(CustomerNeed.customer_id == who.id))
        found = list(rows)
        session.expunge_all()
        return found

    result: list[CustomerNeed] = desk.book.run(load)
    return result


def recommended_amounts(home: httpx.Response) -> list[str]:
    """The amounts column of the home page's recommendations table."""
    table = home.text.split("为您推荐", 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="num">(¥[\d,.]+)</td><td class="num">', table)


def test_answer_the_questionnaire_and_the_recommendations_follow(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    zhang: Borrower = borrower("zhang")
    sign_in(browser, zhang)
    before = browser.get("/")
    assert 'href="/needs"' in before.text
    assert "告诉我们您的需求" in before.text  # nothing answered yet
    assert recommended_amounts(before) == ["¥10,000.00"]  # the default need

    done = browser.submit("/needs", data=ANSWER)
    assert done.status_code == 200, done.text[:800]
    assert str(done.url).endswith("/")
    assert "已按您的需求更新推荐" in done.text, done.text[:3000]  # the notice
    assert "更新您的需求" in done.text
    assert "按 ¥5,000.00、6 个月计算" in done.text
    assert recommended_amounts(done) == ["¥5,000.00"]

    [row] = answers(desk, zhang)
    assert (row.purpose, row.amount, row.term_months) == ("education", 5_000_00, 6)
    assert (row.monthly_income, row.monthly_obligations, row.employment) == (
        12_000_50,
        0,
        "employed",
    )
    again = browser.get("/needs")  # the form shows the latest answer, to be updated
    assert value_of(again, "amount") == "5000.00"
    assert value_of(again, "term_months") == "6"
    assert '<option value="education" selected>' in again.text

    browser.submit("/needs", data={**ANSWER, "amount": "8000", "term_months": "12"})
    assert recommended_amounts(browser.get("/")) == ["¥8,000.00"]
    assert len(answers(desk, zhang)) == 2  # every answer is kept; the latest counts


REFUSALS = [
    ("purpose", "holiday_home", "请从选项中选择"),
    ("employment", "astronaut", "请从选项中选择"),
    ("amount", "", "请输入金额"),
    ("amount", "0", "请输入大于零的金额"),
    ("amount", "300000.01", "请输入不超过 ¥300,000.00 的金额。"),
    ("amount", "12.345", "最多保留两位小数"),
    ("term_months", "0", "请输入 1 至 60 之间的整数月数。"),
    ("term_months", "61", "请输入 1 至 60 之间的整数月数。"),
    ("term_months", "six", "请输入 1 至 60 之间的整数月数。"),
    ("term_months", "²", "请输入 1 至 60 之间的整数月数。"),  # a digit int() refuses
    ("monthly_income", "", "请输入金额"),
    ("monthly_income", "10000000.01", "请输入每月 0 至 ¥10,000,000.00。"),
    ("monthly_obligations", "abc", "请输入金额"),
]


def test_each_refused_field_says_why_next_to_it_and_nothing_is_stored(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    sign_in(browser, borrower("zhang"))
    for name, value, message in REFUSALS:
        page = browser.submit("/needs", data={**ANSWER, name: value})
        assert page.status_code == 422, (name, value)
        error = re.search(rf'<p class="field-error" id="e-{name}">([^<]*)</p>', page.text)
        assert error, (name, value, page.text[:1500])
        assert message in error.group(1), (name, value, error.group(1))
        assert page.text.count('class="field-error"') == 1, (name, value)  # only that field
        assert f'value="{value}"' in page.text or name in ("purpose", "employment")  # kept
    count = select(func.count()).select_from(CustomerNeed)
    assert desk.book.run(lambda s: s.scalar(count)) == 0


def test_a_borrower_never_sees_another_customers_answer(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    zhang: Borrower = borrower("zhang")
    li: Borrower = borrower("li")
    sign_in(browser, zhang)
    browser.submit("/needs", data={**ANSWER, "amount": "7,654.32"})
    assert [row.amount for row in answers(desk, zhang)] == [7_654_32]
    browser.submit("/", "/logout")
    sign_in(browser, li)
    form = browser.get("/needs")
    assert form.status_code == 200
    assert value_of(form, "amount") == ""
    assert "7654.32" not in form.text
    home = browser.get("/")
    assert "告诉我们您的需求" in home.text
    assert "¥7,654.32" not in home.text
    assert answers(desk, li) == []


def test_the_questionnaire_needs_a_signed_in_customer(browser: Browser) -> None:
    page = browser.get("/needs", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    posted = browser.client.post("/needs", data=ANSWER, follow_redirects=False)
    assert posted.status_code in (303, 403)  # to the sign-in page, or refused without a token
