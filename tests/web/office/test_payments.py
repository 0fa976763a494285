"""The payment manual queue and the reconciliation breaks through the pages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.payments.models import PaymentNote, PaymentOrder
from tests.payments.conftest import Payments
from tests.payments.test_manual_settlement import queued
from tests.web.conftest import Browser
from tests.web.office.helpers import switch_to

PAGE = "/staff/payments/manual"


def test_an_order_in_the_manual_queue_is_resolved_with_a_note(
    browser: Browser, payments: Payments, enrolled_staff: Any, engine: Engine
) -> None:
    order = queued(payments)
    switch_to(browser, enrolled_staff("finance"))
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert f"/staff/payments/manual/{order.id}" in page.text
    heading = re.search(rf'id="o-{order.id}">\s*<h2>(.*?)</h2>', page.text, re.S)
    assert heading is not None
    for code in (order.kind, order.direction, order.status):  # shown in words
        assert code not in heading.group(1), code
    assert "付出" in heading.group(1) or "收入" in heading.group(1)
    action = f"{PAGE}/{order.id}"
    missing = browser.submit(PAGE, action, data={"action": "resolve", "note": "paid"})
    assert missing.status_code == 422
    assert f'id="e-outcome-{order.id}"' in missing.text
    no_note = browser.submit(PAGE, action, data={"action": "retry", "note": ""})
    assert no_note.status_code == 422
    done = browser.submit(
        PAGE, action, data={"action": "resolve", "outcome": "succeeded", "note": "bank says paid"}
    )
    assert done.status_code == 200
    assert f"{PAGE}/{order.id}" not in done.text  # out of the queue
    with Session(engine) as session:
        stored = session.get(PaymentOrder, order.id)
        assert stored is not None
        assert (stored.status, stored.manual) == ("succeeded", False)
        assert session.scalars(select(PaymentNote.note)).all() == ["bank says paid"]


def test_payments_pages_need_their_permissions(
    browser: Browser, payments: Payments, enrolled_staff: Any
) -> None:
    order = queued(payments)
    switch_to(browser, enrolled_staff("customer_service"))  # reads payments, acts on none
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert f'action="{PAGE}/{order.id}"' not in page.text
    refused = browser.submit(PAGE, f"{PAGE}/{order.id}", data={"action": "retry", "note": "x"})
    assert refused.status_code == 403
    assert browser.get("/staff/payments/recon").status_code == 200
    switch_to(browser, enrolled_staff("collector"))
    assert browser.get(PAGE).status_code == 403
    assert browser.get("/staff/payments/recon").status_code == 403


def test_english_payments_pages_render(
    browser: Browser, payments: Payments, enrolled_staff: Any
) -> None:
    queued(payments)
    switch_to(browser, enrolled_staff("finance"))
    browser.get("/lang/en?next=/staff")
    for path in (PAGE, "/staff/payments/recon", "/staff/payments/recon?show=all"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert '<html lang="en">' in page.text
    assert "Payment manual queue" in browser.get(PAGE).text
