"""Importing a channel statement on the reconciliation page, and the run's result page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.payments.recon.models import ReconBreak, ReconRun
from tests.payments.conftest import Payments
from tests.payments.test_recon_import import HEADER, add_order, line, statement
from tests.web.conftest import Browser
from tests.web.office.helpers import switch_to

PAGE = "/staff/payments/recon"
IMPORT = f"{PAGE}/import"


def _upload(
    browser: Browser, data: bytes, name: str = "sim-statement.csv", channel: str = "sim"
) -> httpx.Response:
    return browser.submit(
        PAGE, IMPORT, data={"channel": channel}, files={"statement": (name, data, "text/csv")}
    )


def _nothing_imported(engine: Engine) -> None:
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ReconRun)) == 0
        assert session.scalar(select(func.count()).select_from(ReconBreak)) == 0


def test_a_statement_is_imported_and_its_run_shown(
    browser: Browser, payments: Payments, enrolled_staff: Any, engine: Engine
) -> None:
    matched, short, missing = (add_order(payments, amount) for amount in (10_000, 25_050, 700))
    data = statement(line(matched), line(short, amount=25_000))
    switch_to(browser, enrolled_staff("finance"))
    assert 'action="/staff/payments/recon/import"' in browser.get(PAGE).text

    done = _upload(browser, data)
    assert done.status_code == 200
    assert re.search(r"/staff/payments/recon/runs/[0-9a-f-]{36}$", str(done.url))
    assert "对账单已导入" in done.text  # the flash
    with Session(engine) as session:
        run = session.scalars(select(ReconRun)).one()
        kinds = sorted(session.scalars(select(ReconBreak.kind)))
    assert (run.lines, run.matched_lines, run.breaks) == (2, 1, 2)
    assert run.file_name == "sim-statement.csv"
    assert kinds == ["amount_mismatch", "missing_at_channel"]
    # The breaks by kind, in words, each with its card and form.
    assert "金额不符" in done.text
    assert "渠道缺失" in done.text
    assert "missing_at_channel" not in done.text
    assert "按参考号" in done.text  # matched by reference
    assert done.text.count('class="card" id="b-') == 2
    assert str(missing.id) in done.text

    again = _upload(browser, data)  # the same file: its first run, nothing new
    assert again.status_code == 200
    assert str(again.url) == str(done.url)
    assert "该文件此前已导入过" in again.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ReconRun)) == 1


def test_a_file_that_is_no_statement_is_refused_next_to_its_field(
    browser: Browser, payments: Payments, enrolled_staff: Any, engine: Engine
) -> None:
    order = add_order(payments, 10_000)
    switch_to(browser, enrolled_staff("finance"))
    limit = browser.client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    cases = {
        "empty": (b"", "sim.csv", "文件为空"),
        "header only": ((HEADER + "\n").encode(), "sim.csv", "对账单没有任何记录行"),
        "wrong columns": (b"date,sum\n2026-03-16,100.00\n", "sim.csv", "按该渠道的格式读取"),
        "not csv by name": (statement(line(order)), "sim.xlsx", "不是 CSV 对账单"),
        "not csv by content": (b"PK\x03\x04\x00\x00binary", "sim.csv", "不是 CSV 对账单"),
        "too large": (b"x" * (limit - 8 * 1024), "sim.csv", "文件过大"),
    }
    for case, (data, name, words) in cases.items():
        refused = _upload(browser, data, name)
        assert refused.status_code == 422, case
        assert 'id="e-statement"' in refused.text, case
        assert words in refused.text, case
    no_file = browser.submit(PAGE, IMPORT, data={"channel": "sim"})
    assert no_file.status_code == 422
    assert "请选择对账单文件" in no_file.text
    no_channel = _upload(browser, statement(line(order)), channel="nowhere")
    assert no_channel.status_code == 422
    assert 'id="e-channel"' in no_channel.text
    _nothing_imported(engine)


def test_a_file_over_the_request_limit_gets_a_page_in_the_language(
    browser: Browser, payments: Payments, enrolled_staff: Any, engine: Engine
) -> None:
    switch_to(browser, enrolled_staff("finance"))
    limit = browser.client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    refused = _upload(browser, b"x" * (limit + 1), "sim.csv")
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/html")
    assert "内容过大" in refused.text
    assert f"{limit // 1024:,} KB" in refused.text
    assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]
    assert refused.headers["cache-control"] == "no-store"
    _nothing_imported(engine)


def test_importing_needs_the_recon_permission_and_the_form_token(
    browser: Browser, payments: Payments, enrolled_staff: Any, engine: Engine
) -> None:
    data = statement(line(add_order(payments, 10_000)))
    switch_to(browser, enrolled_staff("finance"))
    bare = browser.client.post(
        IMPORT, data={"channel": "sim"}, files={"statement": ("s.csv", data, "text/csv")}
    )
    assert bare.status_code == 403  # no CSRF token
    switch_to(browser, enrolled_staff("customer_service"))  # reads payments, reconciles none
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert f'action="{IMPORT}"' not in page.text
    assert _upload(browser, data).status_code == 403
    _nothing_imported(engine)


def test_the_breaks_read_in_words_not_codes(
    browser: Browser, payments: Payments, enrolled_staff: Any
) -> None:
    add_order(payments, 10_000)  # not on the statement
    order = add_order(payments, 500)
    switch_to(browser, enrolled_staff("finance"))
    _upload(browser, statement(line(order, amount=400)))
    page = browser.get(f"{PAGE}?show=all")
    assert "金额不符" in page.text
    assert "渠道缺失" in page.text
    assert "未处理" in page.text
    assert "待还" not in page.text  # an instalment's "open", not a break's
    for code in ("amount_mismatch", "missing_at_channel", ">open<", ">succeeded<"):
        assert code not in page.text, code
