"""The portal shows stored codes (statuses, purposes) in the page's words, through the
``label`` filter: never ``pending_disbursement`` or ``bound`` as stored."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from lendbridge.web.labels import VOCABULARIES
from tests.origination.conftest import Desk
from tests.web.conftest import Browser
from tests.web.portal.test_apply_sign_loans import LOAN, offered, sign

BADGE = re.compile(r'<span class="badge[^"]*">([^<]*)</span>')
CODES = {str(code) for words in VOCABULARIES.values() for code in words}


def test_statuses_read_as_words_in_chinese_and_english(
    browser: Browser, desk: Desk, borrower: Any, web_app: FastAPI
) -> None:
    app_id = offered(browser, desk, borrower("zhang"))
    signed = sign(browser, web_app, app_id)
    loan = LOAN.search(str(signed.url))
    assert loan, signed.url
    pages = ["/", "/loans", f"/loans/{loan.group(1)}", "/applications", f"/applications/{app_id}"]
    expected = {
        "zh_CN": {"/loans": "放款中", "/me/cards": "已绑定"},
        "en": {"/loans": "Being paid out", "/me/cards": "Bound"},
    }
    for locale, words in expected.items():
        browser.get(f"/lang/{locale}?next=/")
        for path in [*pages, "/me/cards"]:
            page = browser.get(path)
            assert page.status_code == 200, (path, page.text[:500])
            badges = [text.strip() for text in BADGE.findall(page.text)]
            assert badges, (locale, path)
            assert not CODES.intersection(badges), (locale, path, badges)
            if path in words:
                assert words[path] in badges, (locale, path, badges)
