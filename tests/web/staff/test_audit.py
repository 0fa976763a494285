"""The audit trail page: filters, newest first, pages, and the chain's verification."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.audit.service import record
from lendbridge.kit.actor import system_actor
from lendbridge.web import i18n
from lendbridge.web.pages import staff_audit
from tests.web.conftest import Browser

ACTOR = system_actor("tests")


def _table(html: str) -> str:
    return html.split('id="t-audit"')[1].split("</table>")[0]


def _trail(engine: Engine, count: int) -> None:
    with Session(engine) as session:
        for n in range(count):
            record(
                session,
                ACTOR,
                action="tests.thing.done" if n % 2 else "tests.thing.seen",
                target_type="thing",
                target_id=f"thing-{n}",
            )
        session.commit()


def test_the_trail_is_filtered_newest_first_and_paginated(
    browser: Browser, enrolled_staff: Any, engine: Engine, monkeypatch: Any
) -> None:
    monkeypatch.setattr(staff_audit, "PAGE_SIZE", 3)
    _trail(engine, 8)
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("auditor"))
    page = browser.get("/staff/audit", params={"action": "tests.thing.done"})
    assert page.status_code == 200
    body = _table(page.text)
    assert body.count("tests.thing.done") == 3
    assert "tests.thing.seen" not in body
    assert body.index("thing-7") < body.index("thing-5") < body.index("thing-3")
    assert "thing-1<" not in body
    more = page.text.split('class="pagination"')[1].split('href="')[1].split('"')[0]
    following = browser.get(more.replace("&amp;", "&"))
    assert following.status_code == 200
    assert "thing-1<" in following.text
    assert "thing-3<" not in following.text
    by_target = browser.get("/staff/audit", params={"target_type": "thing", "target_id": "thing-4"})
    assert _table(by_target.text).count("thing-4") == 1
    lonely = browser.get("/staff/audit", params={"target_id": "thing-4"})
    assert lonely.status_code == 422
    assert 'id="e-target_id"' in lonely.text
    bad = browser.get("/staff/audit", params={"action": "Not An Action"})
    assert bad.status_code == 422
    assert 'id="e-action"' in bad.text


def test_verify_the_chain_shows_it_intact_then_broken(
    browser: Browser, enrolled_staff: Any, engine: Engine
) -> None:
    _trail(engine, 4)
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("auditor"))
    intact = browser.submit("/staff/audit", "/staff/audit/verify")
    assert intact.status_code == 200
    assert 'class="alert alert-ok"' in intact.text
    assert "The chain is intact" in intact.text
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":  # past the append-only trigger, as an attacker
            session.execute(text("SET LOCAL session_replication_role = replica"))
        seq = session.scalar(select(AuditRecord.seq).where(AuditRecord.target_id == "thing-2"))
        session.execute(
            update(AuditRecord).where(AuditRecord.seq == seq).values(target_id="thing-X")
        )
        session.commit()
    broken = browser.submit("/staff/audit", "/staff/audit/verify")
    assert broken.status_code == 200
    assert 'class="alert alert-error"' in broken.text
    assert f"The chain is broken at record {seq}" in broken.text


def test_the_trail_needs_audit_read(browser: Browser, enrolled_staff: Any) -> None:
    browser.staff_sign_in(enrolled_staff("loan_officer"))
    assert browser.get("/staff/audit").status_code == 403
    assert 'href="/staff/audit"' not in browser.get("/staff").text
