"""Products through the pages: requested by one staff member, saved when another approves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.approvals.models import ApprovalRequest
from lendbridge.audit.models import AuditRecord
from lendbridge.products.models import Product, ProductVersion
from tests.web.conftest import Browser
from tests.web.office.helpers import product_form, request_ids, switch_to


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_product_requested_by_one_and_approved_by_another_becomes_active(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    maker = enrolled_staff("admin")
    checker = enrolled_staff("compliance_officer")
    switch_to(browser, maker)
    sent = browser.submit("/staff/products/new", data=product_form())
    assert sent.status_code == 200, sent.text[:2000]
    assert str(sent.url).endswith("/staff/products")
    assert "WEB-12" in sent.text  # listed as waiting for approval
    assert _count(engine, Product) == 0  # nothing saved before the approval

    switch_to(browser, checker)
    inbox = browser.get("/staff/approvals")
    [request_id] = request_ids(inbox.text)
    assert maker.username in inbox.text
    assert "¥1,000.00" in inbox.text or "1,000.00" in inbox.text  # the payload, readable
    done = browser.submit(
        "/staff/approvals", f"/staff/approvals/{request_id}/approve", data={"note": "ok"}
    )
    assert done.status_code == 200
    with Session(engine) as session:
        product = session.get(Product, "WEB-12")
        assert product is not None
        assert product.status == "active"
        version = session.get(ProductVersion, ("WEB-12", 1))
        assert version is not None
        assert version.definition["min_amount"] == 100000
        assert version.definition["max_amount"] == 2000000
        row = session.scalars(select(ApprovalRequest)).one()
        assert row.status == "approved"
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"approvals.request", "approvals.approve", "products.version.created"} <= actions
    page = browser.get("/staff/products/WEB-12")
    assert page.status_code == 200
    assert "Web product" in page.text


def test_an_apr_over_the_cap_is_shown_next_to_its_field_and_nothing_is_stored(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    switch_to(browser, enrolled_staff("admin"))
    page = browser.submit(
        "/staff/products/new",
        data=product_form(annual_rate_percent="30", max_apr_percent="24"),
    )
    assert page.status_code == 422
    assert 'id="e-max_apr_percent"' in page.text
    assert "APR" in page.text
    assert _count(engine, ApprovalRequest) == 0
    assert _count(engine, Product) == 0


def test_typed_mistakes_are_named_next_to_their_fields(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    switch_to(browser, enrolled_staff("admin"))
    page = browser.submit(
        "/staff/products/new",
        data=product_form(min_amount="10.001", allowed_terms="3, six", code="bad code", reason=""),
    )
    assert page.status_code == 422
    assert 'id="e-min_amount"' in page.text
    assert 'id="e-allowed_terms"' in page.text
    assert 'id="e-reason"' in page.text
    assert _count(engine, ApprovalRequest) == 0


def test_the_maker_cannot_approve_their_own_request(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    both = enrolled_staff("admin", "compliance_officer")
    switch_to(browser, both)
    browser.submit("/staff/products/new", data=product_form())
    inbox = browser.get("/staff/approvals")
    [request_id] = request_ids(inbox.text)
    refused = browser.submit(
        "/staff/approvals", f"/staff/approvals/{request_id}/approve", data={"note": "me"}
    )
    assert refused.status_code == 403
    assert 'role="alert"' in refused.text
    with Session(engine) as session:
        assert session.scalars(select(ApprovalRequest.status)).one() == "pending"
    assert _count(engine, Product) == 0


def test_a_new_version_and_retiring(
    browser: Browser, other_browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    maker, checker = browser, other_browser
    switch_to(maker, enrolled_staff("admin"))
    switch_to(checker, enrolled_staff("compliance_officer"))
    maker.submit("/staff/products/new", data=product_form())
    [first] = request_ids(checker.get("/staff/approvals").text)
    checker.submit("/staff/approvals", f"/staff/approvals/{first}/approve", data={"note": "ok"})

    form = maker.get("/staff/products/WEB-12/version")
    assert 'value="1000.00"' in form.text  # the newest version, prefilled
    changed = product_form(annual_rate_percent="10", name="Web product v2")
    del changed["code"]
    sent = maker.submit("/staff/products/WEB-12/version", data=changed)
    assert sent.status_code == 200, sent.text[:2000]
    [second] = request_ids(checker.get("/staff/approvals").text)
    checker.submit("/staff/approvals", f"/staff/approvals/{second}/reject", data={"note": "no"})
    with Session(engine) as session:
        assert session.get(ProductVersion, ("WEB-12", 2)) is None

    retired = maker.submit(
        "/staff/products/WEB-12", "/staff/products/WEB-12/retire", data={"reason": "old"}
    )
    assert retired.status_code == 200
    with Session(engine) as session:
        assert session.get(Product, "WEB-12").status == "retired"  # type: ignore[union-attr]
    assert "/staff/products/WEB-12/version" not in retired.text


def test_each_page_needs_its_permission(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("loan_officer"))  # reads products, manages none
    assert browser.get("/staff/products").status_code == 200
    assert browser.get("/staff/products/new").status_code == 403
    assert browser.get("/staff/approvals").status_code == 200  # their own requests
    no_decide = browser.submit(
        "/staff/approvals",
        "/staff/approvals/00000000-0000-0000-0000-000000000000/approve",
        data={"note": "x"},
    )
    assert no_decide.status_code == 403
    switch_to(browser, enrolled_staff("collector"))
    assert browser.get("/staff/products/NOPE").status_code == 404


def test_english_pages_render(browser: Browser, enrolled_staff: Any) -> None:
    switch_to(browser, enrolled_staff("admin", "compliance_officer"))
    browser.get("/lang/en?next=/staff")
    for path in ("/staff/products", "/staff/products/new", "/staff/approvals"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert '<html lang="en">' in page.text
        assert "style=" not in page.text
    assert "New product" in browser.get("/staff/products").text
