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
    dates = re.findall(r'<a href="/staff/close/(2026-[0-9-]+)">', page.text)
    assert dates[:2] == ["2026-01-16", "2026-01-15"]  # newest first (closed through the 16th)
    assert "Jan 16, 2026" in page.text
    assert "Done" in page.text
    day = browser.get("/staff/close/2026-01-16")
    assert day.status_code == 200
    assert "loans.collect" in day.text
    steps = re.findall(r"<td><code>([a-z_.]+)</code>", day.text)
    assert steps
    assert "loans.collect" in steps
    zh = browser.get("/lang/zh_CN?next=/staff/close")
    assert "2026年1月16日" in zh.text
    assert "已完成" in zh.text
    assert browser.get("/staff/close/2025-01-01").status_code == 404


def test_close_runs_page_backwards(browser: Browser, book: Book, enrolled_staff: Any) -> None:
    book.disburse(book.create(book.customer("li"), 6_000_00, 6).id)
    close(book, dt.date(2026, 1, 20), batch_size=50)
    switch_to(browser, enrolled_staff("finance"))
    first = browser.get("/staff/close?limit=2")
    shown = re.findall(r'<a href="/staff/close/(2026-[0-9-]+)">', first.text)
    assert len(shown) == 2
    older = re.search(r'href="(/staff/close\?before=[0-9-]+&amp;limit=2)"', first.text)
    assert older is not None
    second = browser.get(older.group(1).replace("&amp;", "&"))
    more = re.findall(r'<a href="/staff/close/(2026-[0-9-]+)">', second.text)
    assert more
    assert max(more) < min(shown)


def test_close_runs_need_ledger_read(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("collector"))
    assert browser.get("/staff/close").status_code == 403
