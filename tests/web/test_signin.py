"""Signing in and out of the pages, the session cookie, CSRF, headers and languages."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.identity.models import LoginEvent, SignInSession
from lendbridge.web import csrf, sessions
from lendbridge.web.security import CONTENT_SECURITY_POLICY
from tests.identity.factories import PASSWORD
from tests.web.conftest import Browser, csrf_of


def test_a_page_without_a_session_asks_to_sign_in(browser: Browser) -> None:
    page = browser.get("/", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F"
    staff = browser.get("/staff", follow_redirects=False)
    assert staff.headers["location"] == "/staff/login?next=%2Fstaff"


def test_borrower_signs_in_sees_the_portal_and_signs_out(
    browser: Browser, customer: object, engine: Engine
) -> None:
    customer("13900000001")  # type: ignore[operator]
    home = browser.sign_in("13900000001")
    assert str(home.url).endswith("/")
    assert "退出" in home.text  # zh-CN by default: the sign-out button
    cookie = next(c for c in browser.client.cookies.jar if c.name == sessions.COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.value
    assert "13900000001" not in cookie.value
    stolen = cookie.value

    out = browser.submit("/", "/logout")
    assert "/login" in str(out.url)
    with Session(engine) as session:
        assert (
            session.scalar(select(func.count()).where(SignInSession.revoked_at.is_not(None))) == 1
        )
    # The old cookie, replayed, no longer opens anything: the session was revoked.
    browser.client.cookies.set(sessions.COOKIE, stolen)
    again = browser.get("/", follow_redirects=False)
    assert again.status_code == 303


def test_wrong_password_is_shown_on_the_form_and_counted(
    browser: Browser, customer: object, engine: Engine
) -> None:
    customer("13900000002")  # type: ignore[operator]
    page = browser.submit("/login", data={"phone": "13900000002", "password": "wrong one"})
    assert page.status_code == 401
    assert 'role="alert"' in page.text
    with Session(engine) as session:
        outcomes = session.scalars(select(LoginEvent.outcome)).all()
    assert "bad_password" in outcomes


def test_a_malformed_phone_is_named_next_to_its_field(browser: Browser) -> None:
    page = browser.submit("/login", data={"phone": "12345", "password": PASSWORD})
    assert page.status_code == 422
    assert 'id="e-phone"' in page.text
    assert 'aria-invalid="true"' in page.text


def test_a_form_without_its_csrf_token_changes_nothing(
    browser: Browser, customer: object, engine: Engine
) -> None:
    customer("13900000003")  # type: ignore[operator]
    browser.get("/login")  # the browser has its CSRF cookie, but the attacker's form no token
    forged = browser.client.post("/login", data={"phone": "13900000003", "password": PASSWORD})
    assert forged.status_code == 403
    wrong = browser.client.post(
        "/login", data={"phone": "13900000003", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert wrong.status_code == 403
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SignInSession)) == 0
        assert session.scalar(select(func.count()).select_from(LoginEvent)) == 0


def test_a_token_from_before_sign_in_does_not_pass_after(
    browser: Browser, customer: object
) -> None:
    customer("13900000004")  # type: ignore[operator]
    before = csrf_of(browser.get("/login"))
    browser.sign_in("13900000004")
    refused = browser.client.post("/logout", data={csrf.FIELD: before})
    assert refused.status_code == 403


def test_staff_need_their_authenticator_code(browser: Browser, enrolled_staff: object) -> None:
    officer = enrolled_staff("loan_officer")  # type: ignore[operator]
    without = browser.submit(
        "/staff/login", data={"username": officer.username, "password": PASSWORD}
    )
    assert without.status_code == 401
    wrong = browser.submit(
        "/staff/login",
        data={"username": officer.username, "password": PASSWORD, "totp_code": "000000"},
    )
    assert wrong.status_code == 401
    page = browser.staff_sign_in(officer)
    assert str(page.url).endswith("/staff")


def test_borrowers_and_staff_keep_to_their_own_pages(
    browser: Browser, customer: object, enrolled_staff: object, web_app: object
) -> None:
    customer("13900000005")  # type: ignore[operator]
    browser.sign_in("13900000005")
    assert browser.get("/staff").status_code == 403
    browser.submit("/", "/logout")
    browser.staff_sign_in(enrolled_staff("auditor"))  # type: ignore[operator]
    assert browser.get("/").status_code == 403


def test_after_sign_in_the_page_asked_for_opens_and_never_another_site(
    browser: Browser, customer: object
) -> None:
    customer("13900000006")  # type: ignore[operator]
    page = browser.get("/login?next=https%3A%2F%2Fevil.example%2F")
    assert 'name="next" value="/"' in page.text
    page = browser.get("/login?next=%2F%2Fevil.example")
    assert 'name="next" value="/"' in page.text


def test_pages_carry_the_security_headers(browser: Browser) -> None:
    page = browser.get("/login")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "style=" not in page.text
    assert "<script>" not in page.text


def test_language_switch_to_english_and_back(browser: Browser) -> None:
    zh = browser.get("/login")
    assert '<html lang="zh-CN">' in zh.text
    assert "登录" in zh.text
    en = browser.get("/lang/en?next=/login")
    assert '<html lang="en">' in en.text
    assert "Sign in" in en.text
    assert "登录" not in en.text
    back = browser.get("/lang/zh_CN?next=/login")
    assert "登录" in back.text
    odd = browser.get("/lang/xx?next=/login")  # an unknown language falls back to the default
    assert '<html lang="zh-CN">' in odd.text


def test_unknown_pages_and_api_paths(browser: Browser) -> None:
    page = browser.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    api = browser.get("/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    wrong_method = browser.client.delete("/v1/me")
    assert wrong_method.status_code == 405
