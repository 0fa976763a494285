"""The what-if report: a candidate policy replayed against past decisions' input snapshots
before it is activated. Each application counts once, with its latest decision; nothing is
stored. A snapshot the candidate cannot decide (e.g. a requested term the product it
recorded does not allow) is counted as skipped with its reason, never silently dropped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.decisions.evaluate import compile_policy, evaluate
from lendbridge.decisions.facts import Facts, score_from_snapshot
from lendbridge.decisions.models import CreditDecision
from lendbridge.decisions.policy import Outcome, PolicyDocument, validate_policy
from lendbridge.kit.errors import DomainError

MAX_CHANGED_LISTED = 1000
NO_GRADE = "-"
RATE_PLACES = Decimal("0.0001")


@dataclass
class WhatIf:
    decisions: int = 0
    skipped: int = 0
    approved_before: int = 0
    approved_after: int = 0
    changed: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    by_outcome: dict[str, Counter[str]] = field(default_factory=dict)
    by_grade: dict[str, Counter[str]] = field(default_factory=dict)
    changed_cases: list[dict[str, Any]] = field(default_factory=list)
    skipped_cases: list[dict[str, str]] = field(default_factory=list)

    def rate(self, approved: int) -> Decimal:
        """Approved share of the decided applications, 4 places, half up."""
        decided = self.decisions - self.skipped
        if not decided:
            return Decimal(0).quantize(RATE_PLACES)
        return (Decimal(approved) / decided).quantize(RATE_PLACES, ROUND_HALF_UP)


def _latest_per_application(session: Session, limit: int) -> list[CreditDecision]:
    """The latest decision of each application, newest first, at most ``limit``."""
    rows = session.scalars(
        select(CreditDecision)
        .order_by(CreditDecision.decided_at.desc(), CreditDecision.version.desc())
        .execution_options(yield_per=1000)
    )
    seen: set[object] = set()
    out: list[CreditDecision] = []
    try:
        for row in rows:
            if row.application_id in seen:
                continue
            seen.add(row.application_id)
            out.append(row)
            if len(out) >= limit:
                break
    finally:
        rows.close()  # a stream left early: release its cursor now
    return out


def _tally(table: dict[str, Counter[str]], key: str, changed: bool) -> None:
    counts = table.setdefault(key, Counter())
    counts["total"] += 1
    counts["changed"] += int(changed)


def what_if(session: Session, candidate: PolicyDocument, *, limit: int = 100_000) -> WhatIf:
    """How ``candidate`` would have decided the latest ``limit`` applications: per outcome
    and grade (as decided then) how many change, each transition (``approve->decline``),
    the approval rate before and after, and the changed cases' ids."""
    validate_policy(candidate)
    policy = compile_policy(candidate)
    report = WhatIf()
    for row in _latest_per_application(session, limit):
        report.decisions += 1
        try:
            facts = Facts.model_validate(row.input_snapshot["facts"])
            score = score_from_snapshot(row.input_snapshot["score"])
            after = evaluate(policy, facts, score)
        except (ValidationError, DomainError, KeyError, TypeError, ValueError) as exc:
            report.skipped += 1
            if len(report.skipped_cases) < MAX_CHANGED_LISTED:
                report.skipped_cases.append({"decision_id": str(row.id), "reason": str(exc)})
            continue
        before_grade, after_grade = row.grade or NO_GRADE, after.grade or NO_GRADE
        changed = row.outcome != after.outcome.value or before_grade != after_grade
        report.approved_before += int(row.outcome == Outcome.APPROVE)
        report.approved_after += int(after.outcome is Outcome.APPROVE)
        _tally(report.by_outcome, row.outcome, changed)
        _tally(report.by_grade, before_grade, changed)
        if not changed:
            continue
        report.changed += 1
        report.transitions[f"{row.outcome}->{after.outcome.value}"] += 1
        if len(report.changed_cases) < MAX_CHANGED_LISTED:
            report.changed_cases.append(
                {
                    "decision_id": str(row.id),
                    "application_id": str(row.application_id),
                    "outcome_before": row.outcome,
                    "outcome_after": after.outcome.value,
                    "grade_before": row.grade,
                    "grade_after": after.grade,
                    "limit_before": row.limit_amount,
                    "limit_after": after.limit,
                }
            )
    return report
