"""Signing in and out through a real browser: a borrower on a phone, an officer at a desk with
TOTP (a wrong code refused first), and a borrower who uses only the keyboard."""

from __future__ import annotations

from typing import Any

import pytest

from tests.identity.factories import PASSWORD


# Chinese here; the staff journeys sign in in English too.
@pytest.mark.parametrize("language", ["zh_CN"])
def test_officer_signs_in_with_totp_and_out(
    open_tab: Any, enrolled_staff: Any, language: str
) -> None:
    officer = enrolled_staff("loan_officer")
    tab = open_tab("desktop", language, allow={401})
    page = tab.go("/staff")  # not signed in: the sign-in page, which comes back here after
    assert tab.path().startswith("/staff/login")
    page.get_by_label("Username" if language == "en" else "用户名").fill(officer.username)
    page.get_by_label("Password" if language == "en" else "密码").fill(PASSWORD)
    code_label = "Authenticator code" if language == "en" else "验证器动态码"
    page.get_by_label(code_label).fill("000000")
    page.get_by_role("button", name="Sign in" if language == "en" else "登录").click()
    assert page.locator("[role=alert]").is_visible()  # the wrong code is refused
    tab.shot("wrong-code")
    page.get_by_label("Password" if language == "en" else "密码").fill(PASSWORD)
    page.get_by_label(code_label).fill(officer.code())
    page.get_by_role("button", name="Sign in" if language == "en" else "登录").click()
    page.wait_for_url("**/staff")
    tab.shot("signed-in")
    page.get_by_role("button", name="Sign out" if language == "en" else "退出").click()
    page.wait_for_url("**/staff/login")


# A phone here; the borrower journeys run at a desk too.
@pytest.mark.parametrize("viewport", ["phone"])
def test_borrower_signs_in_on_a_phone_and_a_desk(
    open_tab: Any, customer: Any, viewport: str
) -> None:
    customer("13900000011")
    tab = open_tab(viewport, "zh_CN")
    page = tab.go("/login")
    page.get_by_label("手机号码").fill("13900000011")
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")  # keyboard-usable: Enter submits
    page.wait_for_url(tab.base + "/")
    tab.shot("home")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus (as a keyboard user
    would), failing if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} is not reachable with the Tab key")


def test_a_borrower_uses_the_portal_with_the_keyboard_only(open_tab: Any, customer: Any) -> None:
    customer("13900000012")
    tab = open_tab("desktop", "en")
    page = tab.go("/login")
    _tab_to(page, "a.skip")  # the first stop: skip the header
    assert page.locator("a.skip").is_visible()  # shown when focused
    _tab_to(page, "input[name=phone]")
    page.keyboard.type("13900000012")
    _tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(tab.base + "/")
    _tab_to(page, "a[href='/loans']")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus can be seen
    page.keyboard.press("Enter")
    page.wait_for_url(tab.base + "/loans")
    tab.shot("loans-by-keyboard")
