"""Recording credit decisions. ``record_decision`` evaluates an application under a policy
version and stores the decision with its input snapshot; it is idempotent per (application,
input): the same facts, score, model and policy version return the latest stored decision,
anything different is decided again as a new version (never an update)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.decisions import policies
from lendbridge.decisions.evaluate import Decision, evaluate
from lendbridge.decisions.facts import Facts, ScoreLike, score_snapshot
from lendbridge.decisions.models import CreditDecision, DecisionPolicy
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ConcurrentRequest
from lendbridge.kit.ids import new_id


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Which model produced the score (the scoring registry's name and version)."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Recorded:
    row: CreditDecision
    created: bool


def snapshot(
    facts: Facts, score: ScoreLike, policy: DecisionPolicy, model: ModelRef
) -> dict[str, Any]:
    return {
        "facts": facts.model_dump(mode="json"),
        "score": score_snapshot(score),
        "model": {"name": model.name, "version": model.version},
        "policy": {"name": policy.name, "version": policy.version, "sha256": policy.sha256},
    }


def input_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def latest(session: Session, application_id: uuid.UUID) -> CreditDecision | None:
    return session.scalar(
        select(CreditDecision)
        .where(CreditDecision.application_id == application_id)
        .order_by(CreditDecision.version.desc())
        .limit(1)
    )


def history(session: Session, application_id: uuid.UUID) -> list[CreditDecision]:
    return list(
        session.scalars(
            select(CreditDecision)
            .where(CreditDecision.application_id == application_id)
            .order_by(CreditDecision.version)
        )
    )


def record_decision(
    session: Session,
    application_id: uuid.UUID,
    facts: Facts,
    score: ScoreLike,
    policy: DecisionPolicy,
    model: ModelRef,
    actor: Actor,
    *,
    first: bool = False,
) -> Recorded:
    """Decide ``application_id`` under ``policy`` and store it (audited), unless its latest
    decision had exactly these inputs: then that decision is returned unchanged. ``first``:
    the caller knows the application is new (its id just made), so there is no earlier
    decision to look for and none to race."""
    data = snapshot(facts, score, policy, model)
    digest = input_hash(data)
    previous = None if first else latest(session, application_id)
    if previous is not None and previous.input_hash == digest:
        return Recorded(previous, created=False)
    decision = evaluate(policies.compiled(policy), facts, score)
    row = _row(application_id, (previous.version + 1) if previous else 1, data, digest, decision)
    row.model_name, row.model_version = model.name, model.version
    row.policy_name, row.policy_version = policy.name, policy.version
    row.decided_by = actor.user_id or "anonymous"
    if first:
        session.add(row)
        session.flush()  # before the application that names it (no ORM relationship orders them)
    else:
        _insert_version(session, row, application_id)
    record(
        session,
        actor,
        action="decisions.decide",
        target_type="credit_decision",
        target_id=str(row.id),
        after={
            "application_id": str(application_id),
            "version": row.version,
            "outcome": row.outcome,
            "grade": row.grade,
            "limit": row.limit_amount,
            "policy": f"{policy.name}/v{policy.version}",
            "model": f"{model.name}/{model.version}",
        },
    )
    return Recorded(row, created=True)


def _insert_version(session: Session, row: CreditDecision, application_id: uuid.UUID) -> None:
    try:
        with session.begin_nested():  # a concurrent decision of the application took the version
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ConcurrentRequest(
            f"another decision of application {application_id} was recorded at the same "
            "time; retry to receive it"
        ) from None


def _row(
    application_id: uuid.UUID,
    version: int,
    data: dict[str, Any],
    digest: str,
    decision: Decision,
) -> CreditDecision:
    return CreditDecision(
        id=new_id(),
        application_id=application_id,
        version=version,
        input_hash=digest,
        input_snapshot=data,
        score=decision.score,
        grade=decision.grade,
        outcome=decision.outcome.value,
        limit_amount=decision.limit,
        offer_amount=decision.amount,
        currency=decision.currency,
        rate_percent=decision.rate_percent,
        apr_percent=decision.apr_percent,
        rule_outcomes=[asdict(r) for r in decision.rules],
        reasons=[asdict(r) for r in decision.reasons],
        decided_at=clock.now(),
    )
