"""Stored policies and decisions on both databases: propose, maker-checker activation (one
active version per name), decision versioning and idempotency, the what-if report."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.audit.models import AuditRecord
from lendbridge.decisions import actions, policies
from lendbridge.decisions import service as decision_service
from lendbridge.decisions.errors import NoActivePolicy, OwnPolicy, PolicyNotActivatable
from lendbridge.decisions.models import CreditDecision, DecisionPolicy, PolicyStatus
from lendbridge.decisions.service import ModelRef, history, record_decision
from lendbridge.decisions.what_if import what_if
from lendbridge.kit.actor import system_actor
from lendbridge.kit.errors import ConcurrentRequest
from tests.decisions.factories import CHECKER, MAKER, facts, policy, policy_data, score

MODEL = ModelRef("german-scorecard", "1")
SETUP = system_actor("setup")


def audit_actions(session: Session) -> list[str]:
    """The audit trail so far (records are written when the transaction commits)."""
    session.commit()
    return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def test_the_default_policy_is_installed_once_and_active(session: Session) -> None:
    first = policies.ensure_default_policy(session, SETUP)
    again = policies.ensure_default_policy(session, SETUP)
    assert (first.name, first.version, first.status) == ("standard", 1, "active")
    assert again is first
    row, compiled = policies.active_policy(session, "standard")
    assert row is first
    assert compiled.document == policy()
    assert "decisions.policy.activate" in audit_actions(session)


def test_activation_needs_another_user(session: Session) -> None:
    policies.ensure_default_policy(session, SETUP)
    proposed, approval_id = actions.propose_for_activation(
        session, policy(description="stricter"), MAKER
    )
    assert proposed.created
    assert (proposed.row.version, proposed.row.status) == (2, "pending")
    assert approval_id is not None
    with pytest.raises(approvals.OwnRequest):
        approvals.decide(session, MAKER, approval_id, approve=True, note="mine")
    assert policies.active_row(session, "standard").version == 1  # type: ignore[union-attr]
    approvals.decide(session, CHECKER, approval_id, approve=True, note="reviewed")
    rows = {r.version: r for r in policies.listing(session)}
    assert (rows[1].status, rows[2].status) == ("retired", "active")
    assert (rows[2].maker, rows[2].checker) == ("risk.maker", "compliance.checker")
    assert rows[1].retired_at is not None
    # Proposing the active document again changes nothing.
    again, none = actions.propose_for_activation(session, policy(description="stricter"), MAKER)
    assert (again.created, again.row.version) == (False, 2)
    assert none == approval_id


def test_only_drafts_and_pending_versions_activate(session: Session) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    with pytest.raises(PolicyNotActivatable):
        policies.activate(session, row.name, row.version, CHECKER, approval_id=None)
    draft = policies.propose(session, policy(description="draft"), MAKER).row
    with pytest.raises(OwnPolicy):
        policies.activate(session, draft.name, draft.version, MAKER, approval_id=None)


def test_the_database_keeps_one_active_version_per_name(session: Session) -> None:
    policies.ensure_default_policy(session, SETUP)
    draft = policies.propose(session, policy(description="x"), MAKER).row
    draft.status = PolicyStatus.ACTIVE.value
    with pytest.raises(IntegrityError):
        session.flush()


def test_no_active_policy_is_a_clear_refusal(session: Session) -> None:
    with pytest.raises(NoActivePolicy):
        policies.active_policy(session, "standard")


def test_decisions_are_idempotent_per_input_and_versioned(session: Session) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    application = uuid.uuid4()
    first = record_decision(session, application, facts(), score(620), row, MODEL, MAKER)
    same = record_decision(session, application, facts(), score(620), row, MODEL, MAKER)
    assert first.created
    assert not same.created
    assert same.row.id == first.row.id
    assert (first.row.version, first.row.outcome, first.row.grade) == (1, "approve", "A")
    assert first.row.input_snapshot["facts"]["monthly_income"] == 10_000_00
    assert first.row.input_snapshot["policy"] == {
        "name": "standard",
        "version": 1,
        "sha256": row.sha256,
    }
    assert first.row.reasons == []
    assert [r["code"] for r in first.row.rule_outcomes][-2:] == ["grade", "limit"]
    changed = record_decision(
        session, application, facts(blacklisted=True), score(620), row, MODEL, MAKER
    )
    assert changed.created
    assert (changed.row.version, changed.row.outcome, changed.row.limit_amount) == (
        2,
        "decline",
        0,
    )
    assert changed.row.reasons[0] == {
        "code": "not_blacklisted",
        "zh": "未通过风险名单核查",
        "en": "The risk list check did not pass",
    }
    assert [d.version for d in history(session, application)] == [1, 2]
    assert [d.outcome for d in history(session, application)] == ["approve", "decline"]
    assert audit_actions(session).count("decisions.decide") == 2
    other_model = record_decision(
        session, application, facts(blacklisted=True), score(620), row, ModelRef("m", "2"), MAKER
    )
    assert other_model.row.version == 3


def test_decision_versions_are_unique_per_application(session: Session) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    application = uuid.uuid4()
    first = record_decision(session, application, facts(), score(620), row, MODEL, MAKER).row
    session.expunge(first)
    columns = [c.key for c in CreditDecision.__table__.columns]
    duplicate = CreditDecision(**{c: getattr(first, c) for c in columns})
    duplicate.id = uuid.uuid4()
    session.add(duplicate)
    with pytest.raises(IntegrityError):
        session.flush()


def test_what_if_counts_what_would_change(session: Session) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    points = [650, 620, 570, 540, 520, 500, 300]  # A A B C D E -
    ids = []
    for value in points:
        application = uuid.uuid4()
        ids.append(application)
        record_decision(session, application, facts(), score(value), row, MODEL, MAKER)
    # The latest decision counts: the first application was re-decided as a decline.
    record_decision(session, ids[0], facts(overdue_loans=1), score(650), row, MODEL, MAKER)
    data = policy_data()
    data["grades"][2]["outcome"] = "decline"  # C declined
    data["grades"][1]["min_score"] = 580  # 570 falls from B to C
    report = what_if(session, policy(grades=data["grades"]))
    assert report.decisions == 7
    assert report.skipped == 0
    assert report.changed == 2
    assert dict(report.transitions) == {"approve->decline": 2}
    assert report.by_grade["B"] == {"total": 1, "changed": 1}
    assert report.by_grade["C"] == {"total": 1, "changed": 1}
    assert report.by_grade["A"] == {"total": 2, "changed": 0}
    assert report.by_outcome["approve"] == {"total": 3, "changed": 2}
    assert report.by_outcome["decline"]["changed"] == 0
    assert (report.approved_before, report.approved_after) == (3, 1)
    assert str(report.rate(report.approved_before)) == "0.4286"
    assert {c["application_id"] for c in report.changed_cases} == {str(ids[2]), str(ids[3])}
    assert session.scalar(select(DecisionPolicy).where(DecisionPolicy.version == 2)) is None


def test_what_if_of_the_same_policy_changes_nothing(session: Session) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    for value in (650, 540, 520, 300):
        record_decision(session, uuid.uuid4(), facts(), score(value), row, MODEL, MAKER)
    report = what_if(session, policy())
    assert (report.decisions, report.changed, report.transitions) == (4, 0, {})


def test_a_concurrent_decision_of_the_same_version_is_a_conflict_not_a_crash(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = policies.ensure_default_policy(session, SETUP)
    application = uuid.uuid4()
    record_decision(session, application, facts(), score(620), row, MODEL, MAKER)
    # As if another transaction's decision was not visible yet when this one read.
    monkeypatch.setattr(decision_service, "latest", lambda *_: None)
    with pytest.raises(ConcurrentRequest):
        record_decision(session, application, facts(age=40), score(620), row, MODEL, MAKER)
    assert [d.version for d in history(session, application)] == [1]
