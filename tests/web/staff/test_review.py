"""The manual review queue through the pages: approve (a lower limit) and decline, with the
same services as the API, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.web import i18n
from tests.origination.conftest import Desk
from tests.web.conftest import Browser

GRADE_D = (510, 530)  # a score the default policy sends to review


def _in_review(desk: Desk, who: str = "zhang") -> LoanApplication:
    application = desk.apply(desk.borrower(who), desk.body(desk.features_scoring(*GRADE_D)))
    assert application.status == ApplicationStatus.IN_REVIEW
    return application


def _actions(engine: Engine, target: str) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.actor_id)
            .where(AuditRecord.target_id == target)
            .order_by(AuditRecord.seq)
        )
        return [(a, b) for a, b in rows]


def test_an_officer_approves_a_lower_limit_through_the_page(
    browser: Browser, enrolled_staff: Any, desk: Desk, engine: Engine
) -> None:
    application = _in_review(desk)
    officer = enrolled_staff("loan_officer")
    browser.staff_sign_in(officer)
    queue = browser.get("/staff/review")
    assert queue.status_code == 200
    assert f"/staff/review/{application.id}" in queue.text
    detail = browser.get(f"/staff/review/{application.id}")
    assert detail.status_code == 200
    assert 'id="t-rules"' in detail.text
    assert 'id="t-features"' in detail.text
    assert "*" in detail.text  # the applicant masked

    path = f"/staff/review/{application.id}"
    too_many = browser.submit(path, f"{path}/approve", {"limit": "6,000.005", "note": "ok"})
    assert too_many.status_code == 422
    assert 'id="e-limit"' in too_many.text
    no_note = browser.submit(path, f"{path}/approve", {"limit": "6,000", "note": ""})
    assert no_note.status_code == 422
    assert 'id="e-note"' in no_note.text
    above = (application.limit_amount or 0) // 100 + 1
    over = browser.submit(path, f"{path}/approve", {"limit": str(above), "note": "ok"})
    assert over.status_code == 422
    assert 'id="e-limit"' in over.text

    done = browser.submit(
        path, f"{path}/approve", {"limit": "6,000.00", "note": "income documents checked"}
    )
    assert done.status_code == 200
    assert str(done.url).endswith(path)
    with Session(engine) as session:
        row = session.get(LoanApplication, application.id)
        assert row is not None
        assert row.status == ApplicationStatus.OFFERED
        assert row.offer_amount == 6_000_00
        assert row.review_note == "income documents checked"
    actions = _actions(engine, str(application.id))
    assert "origination.application.viewed" in [a for a, _ in actions]
    offered = [who for a, who in actions if a == "origination.application.offered"]
    assert len(offered) == 1
    assert offered[0] is not None
    assert 'id="f-note"' not in done.text  # no more forms once decided


def test_an_officer_declines_with_a_reason(
    browser: Browser, enrolled_staff: Any, desk: Desk, engine: Engine
) -> None:
    application = _in_review(desk)
    browser.client.cookies.set(i18n.COOKIE, "en")
    browser.staff_sign_in(enrolled_staff("loan_officer"))
    path = f"/staff/review/{application.id}"
    half = browser.submit(path, f"{path}/decline", {"reason_zh": "收入无法核实", "reason_en": ""})
    assert half.status_code == 422
    assert 'id="e-reason_en"' in half.text
    done = browser.submit(
        path,
        f"{path}/decline",
        {"reason_zh": "收入无法核实", "reason_en": "The income could not be verified"},
    )
    assert done.status_code == 200
    assert "The income could not be verified" in done.text
    with Session(engine) as session:
        row = session.get(LoanApplication, application.id)
        assert row is not None
        assert row.status == ApplicationStatus.DECLINED
    assert "origination.application.declined" in [a for a, _ in _actions(engine, str(row.id))]


def test_reviewing_needs_the_review_permission(
    browser: Browser, enrolled_staff: Any, desk: Desk, engine: Engine
) -> None:
    application = _in_review(desk)
    browser.staff_sign_in(enrolled_staff("risk_analyst"))  # reads applications, no review
    assert browser.get("/staff/review").status_code == 403
    detail = browser.get(f"/staff/review/{application.id}")
    assert detail.status_code == 200
    assert 'id="f-note"' not in detail.text
    refused = browser.submit(
        f"/staff/review/{application.id}",
        f"/staff/review/{application.id}/approve",
        {"note": "ok"},
    )
    assert refused.status_code == 403
    with Session(engine) as session:
        row = session.get(LoanApplication, application.id)
        assert row is not None
        assert row.status == ApplicationStatus.IN_REVIEW
