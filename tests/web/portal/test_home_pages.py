"""The portal home (the next step, the open application, recommendations, new notices) and
every portal page in both languages, without inline script or style."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.origination.conftest import Desk
from tests.web.conftest import Browser
from tests.web.portal.conftest import Borrower
from tests.web.portal.test_apply_sign_loans import offered


def test_home_points_to_the_next_step_and_counts_new_notices(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    zhang: Borrower = borrower("zhang")
    app_id = offered(browser, desk, zhang)
    home = browser.get("/")
    assert home.status_code == 200
    assert f'href="/applications/{app_id}"' in home.text
    assert "签署借款合同" in home.text  # the next step: sign the offer
    assert "为您推荐" in home.text  # recommended products
    assert "条新消息" in home.text  # the offer is a new notice
    notes = browser.get("/notifications")
    assert "您的申请已通过" in notes.text
    assert "条新消息" not in browser.get("/").text  # seen


def test_an_unverified_borrower_is_sent_to_verification(browser: Browser, borrower: Any) -> None:
    fresh: Borrower = borrower("wang", verify=False)
    browser.sign_in(fresh.phone, "a long enough secret")
    home = browser.get("/")
    assert 'href="/me/identity"' in home.text
    assert "完成实名认证" in home.text


def test_every_portal_page_renders_in_both_languages(
    browser: Browser, desk: Desk, borrower: Any, web_app: FastAPI
) -> None:
    app_id = offered(browser, desk, borrower("zhang"))
    pages = [
        "/",
        "/apply",
        "/needs",
        "/loans",
        "/notifications",
        "/me/identity",
        "/me/cards",
        "/applications",
        f"/applications/{app_id}",
    ]
    for locale, lang in (("zh_CN", "zh-CN"), ("en", "en")):
        browser.get(f"/lang/{locale}?next=/")
        for path in pages:
            page = browser.get(path)
            assert page.status_code == 200, (path, page.text[:500])
            assert f'<html lang="{lang}">' in page.text
            assert "style=" not in page.text
            assert "<script" not in page.text
            assert "onclick" not in page.text
    english = browser.get("/apply")
    assert "Apply for a loan" in english.text
    assert "申请借款" not in english.text


def test_portal_pages_need_a_signed_in_customer(browser: Browser, enrolled_staff: Any) -> None:
    for path in ("/apply", "/needs", "/loans", "/notifications", "/me/identity"):
        page = browser.get(path, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
    browser.staff_sign_in(enrolled_staff("loan_officer"))
    assert browser.get("/loans").status_code == 403


def test_withdraw_an_offer_and_see_it_in_the_list(
    browser: Browser, desk: Desk, borrower: Any
) -> None:
    app_id = offered(browser, desk, borrower("zhang"))
    listed = browser.get("/applications")
    assert f'href="/applications/{app_id}"' in listed.text
    assert "额度已批" in listed.text
    done = browser.submit(f"/applications/{app_id}", f"/applications/{app_id}/withdraw")
    assert done.status_code == 200
    assert str(done.url).endswith(f"/applications/{app_id}")
    assert "您的申请已撤回" in done.text  # the notice
    assert "签署并放款" not in done.text  # nothing left to sign
    assert desk.get(app_id).status == "withdrawn"
    assert "已撤回" in browser.get("/applications").text
