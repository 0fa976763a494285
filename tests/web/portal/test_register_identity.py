"""Registering with the SMS code, real-name verification and binding a card from the pages;
only masked values are shown."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.identity.kyc_models import BankCard, Person
from lendbridge.identity.models import User
from lendbridge.web import sessions
from tests.web.conftest import Browser

PHONE = "13900000071"
GOOD_PASSWORD = "long enough 2026"


def _code(web_app: FastAPI, phone: str) -> str:
    message = web_app.state.sms.last_to(phone)
    assert message is not None, "no SMS sent"
    return str(message.params["code"])


def test_register_with_the_code_sent_by_sms(
    browser: Browser, web_app: FastAPI, engine: Engine
) -> None:
    sent = browser.submit("/register", "/register/code", data={"phone": PHONE})
    assert sent.status_code == 200, sent.text[:500]
    assert 'name="code"' in sent.text
    assert PHONE not in str(sent.url)
    code = _code(web_app, PHONE)

    wrong = "000000" if code != "000000" else "111111"
    refused = browser.submit(
        "/register",
        "/register",
        data={"phone": PHONE, "code": wrong, "password": GOOD_PASSWORD},
    )
    assert refused.status_code == 422
    assert 'id="e-code"' in refused.text
    assert "验证码错误" in refused.text

    done = browser.submit(
        "/register", "/register", data={"phone": PHONE, "code": code, "password": GOOD_PASSWORD}
    )
    assert done.status_code == 200, done.text[:500]
    assert str(done.url).endswith("/")
    assert "实名认证" in done.text  # the next step: verify the identity
    assert any(c.name == sessions.COOKIE for c in browser.client.cookies.jar)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_a_malformed_phone_or_missing_fields_are_named(browser: Browser) -> None:
    page = browser.submit("/register", "/register/code", data={"phone": "123"})
    assert page.status_code == 422
    assert 'id="e-phone"' in page.text
    empty = browser.submit("/register", "/register", data={"phone": PHONE, "code": ""})
    assert empty.status_code == 422
    assert 'id="e-code"' in empty.text
    assert 'id="e-password"' in empty.text


def test_register_page_in_english(browser: Browser) -> None:
    page = browser.get("/lang/en?next=/register")
    assert "Create an account" in page.text
    assert "创建" not in page.text


def test_identity_and_card_show_only_masked_values(
    browser: Browser, customer: Any, engine: Engine
) -> None:
    customer("13900000072")
    browser.sign_in("13900000072")
    before = browser.get("/me/cards")
    assert "/me/identity" in before.text  # verify first

    bad = browser.submit("/me/identity", data={"name": "张三", "resident_id": "110108198507150314"})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text
    assert "110108198507150314" not in bad.text

    done = browser.submit(
        "/me/identity", data={"name": "张伟", "resident_id": "110105199003071239"}
    )
    assert done.status_code == 200, done.text[:500]
    assert str(done.url).endswith("/me/cards")
    identity = browser.get("/me/identity")
    assert "110105199003071239" not in identity.text
    assert "*" in identity.text

    card = browser.submit(
        "/me/cards",
        data={"card_number": "6222 0202 0001 2345 670", "reserved_mobile": "13800000001"},
    )
    assert card.status_code == 200, card.text[:500]
    assert "6222020200012345670" not in card.text
    assert "5670" in card.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1
        assert session.scalar(select(func.count()).select_from(BankCard)) == 1

    home = browser.get("/")
    assert "申请借款" in home.text  # verified, card bound: apply next


def test_a_card_number_that_is_too_short_is_named(browser: Browser, customer: Any) -> None:
    customer("13900000073")
    browser.sign_in("13900000073")
    browser.submit("/me/identity", data={"name": "张伟", "resident_id": "110105199003071239"})
    page = browser.submit("/me/cards", data={"card_number": "123", "reserved_mobile": "138"})
    assert page.status_code == 422
    assert 'id="e-card_number"' in page.text
