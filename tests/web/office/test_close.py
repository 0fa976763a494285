"""The close-of-business runs through the page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.servicing.collections.conftest import close
from tests.servicing.conftest import Book
from tests.web.conftest import Browser
from tests.web.office.helpers import switch_to


def test_close_runs_are_listed_with_their_steps(
    browser: Browser, book: Book, enrolled_staff: Any
) -> None:
    book.disburse(book.create(book.customer("zhang"), 12_000_00, 12).id)
    close(book, dt.date(2026, 1, 17), batch_size=50)
    switch_to(browser, enrolled_staff("finance"))
    browser.get("/lang/en?next=/staff")
    page = browser.get("/staff/close")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    dates = re.findall(r"<h2>([A-Z][a-z]{2} [0-9]{1,2}, 2026) <span", page.text)
    assert dates[:2] == ["Jan 16, 2026", "Jan 15, 2026"]  # newest first (closed through the 16th)
    assert "loans.collect" in page.text
    zh = browser.get("/lang/zh_CN?next=/staff/close")
    assert "2026年1月16日" in zh.text


def test_close_runs_need_ledger_read(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("collector"))
    assert browser.get("/staff/close").status_code == 403
