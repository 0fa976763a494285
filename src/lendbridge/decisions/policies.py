"""Decision policies as versioned data: propose a version (validated), activate it through
maker-checker (``actions.py``), read and list. Exactly one active version per name (a
partial unique index stands behind the service). Services flush; the edge commits; every
change is audited.

Proposing a document equal (same sha256 of the canonical JSON) to a version that is draft,
pending or active writes nothing and returns that version.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer

from lendbridge.audit.service import record
from lendbridge.decisions.errors import (
    NoActivePolicy,
    OwnPolicy,
    PolicyNotActivatable,
    PolicyNotFound,
)
from lendbridge.decisions.evaluate import CompiledPolicy, compile_policy
from lendbridge.decisions.models import DecisionPolicy, PolicyStatus
from lendbridge.decisions.policy import PolicyDocument, fingerprint, validate_policy
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor

TARGET = "decision_policy"
OPEN = (PolicyStatus.DRAFT.value, PolicyStatus.PENDING.value, PolicyStatus.ACTIVE.value)
_compiled: dict[tuple[str, int, str], CompiledPolicy] = {}


@dataclass(frozen=True, slots=True)
class Proposed:
    row: DecisionPolicy
    created: bool


def _target(name: str, version: int) -> str:
    return f"{name}/v{version}"


def propose(session: Session, document: PolicyDocument, actor: Actor) -> Proposed:
    """Save ``document`` as the next version of its policy, status draft (validated: every
    expression against the declared facts, grades, rates)."""
    validate_policy(document)
    sha = fingerprint(document)
    same = session.scalar(
        select(DecisionPolicy).where(
            DecisionPolicy.name == document.name,
            DecisionPolicy.sha256 == sha,
            DecisionPolicy.status.in_(OPEN),
        )
    )
    if same is not None:
        return Proposed(same, created=False)
    newest = session.scalar(
        select(func.max(DecisionPolicy.version)).where(DecisionPolicy.name == document.name)
    )
    row = DecisionPolicy(
        name=document.name,
        version=(newest or 0) + 1,
        document=document.model_dump(mode="json"),
        sha256=sha,
        status=PolicyStatus.DRAFT.value,
        maker=actor.user_id or "anonymous",
        checker=None,
        approval_id=None,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="decisions.policy.propose",
        target_type=TARGET,
        target_id=_target(row.name, row.version),
        after={"status": row.status, "sha256": sha},
    )
    return Proposed(row, created=True)


def load(session: Session, name: str, version: int, *, lock: bool = False) -> DecisionPolicy:
    stmt = select(DecisionPolicy).where(
        DecisionPolicy.name == name, DecisionPolicy.version == version
    )
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise PolicyNotFound(f"no decision policy {name} version {version}")
    return row


def check_activatable(row: DecisionPolicy) -> None:
    if row.status not in (PolicyStatus.DRAFT, PolicyStatus.PENDING):
        raise PolicyNotActivatable(
            f"policy {row.name} version {row.version} is {row.status}: only a draft or "
            "pending version can be activated"
        )


def activate(
    session: Session, name: str, version: int, checker: Actor, *, approval_id: str | None
) -> DecisionPolicy:
    """Make a draft or pending version the active one; the active version before it is
    retired. The checker must not be the version's proposer."""
    row = load(session, name, version, lock=True)
    check_activatable(row)
    if checker.user_id == row.maker:
        raise OwnPolicy("you proposed this version; another user activates it")
    now = clock.now()
    current = active_row(session, name, lock=True)
    if current is not None:
        current.status = PolicyStatus.RETIRED.value
        current.retired_at = now
        session.flush()  # before the new one: one active version at a time
        record(
            session,
            checker,
            action="decisions.policy.retire",
            target_type=TARGET,
            target_id=_target(current.name, current.version),
            before={"status": PolicyStatus.ACTIVE.value},
            after={"status": current.status},
        )
    before = row.status
    row.status = PolicyStatus.ACTIVE.value
    row.checker = checker.user_id
    row.activated_at = now
    session.flush()
    record(
        session,
        checker,
        action="decisions.policy.activate",
        target_type=TARGET,
        target_id=_target(row.name, row.version),
        before={"status": before},
        after={"status": row.status, "sha256": row.sha256, "approval_id": approval_id},
    )
    return row


def active_row(session: Session, name: str, *, lock: bool = False) -> DecisionPolicy | None:
    stmt = select(DecisionPolicy).where(
        DecisionPolicy.name == name, DecisionPolicy.status == PolicyStatus.ACTIVE.value
    )
    return session.scalar(stmt.with_for_update() if lock else stmt)


def get(session: Session, name: str, version: int | None = None) -> DecisionPolicy:
    """A version, or by default the active one (else the newest)."""
    if version is not None:
        return load(session, name, version)
    row = active_row(session, name) or session.scalar(
        select(DecisionPolicy)
        .where(DecisionPolicy.name == name)
        .order_by(DecisionPolicy.version.desc())
        .limit(1)
    )
    if row is None:
        raise PolicyNotFound(f"no decision policy {name}")
    return row


def listing(session: Session) -> list[DecisionPolicy]:
    """Every version of every policy, by name, newest version first."""
    return list(
        session.scalars(
            select(DecisionPolicy).order_by(DecisionPolicy.name, DecisionPolicy.version.desc())
        )
    )


def compiled(row: DecisionPolicy) -> CompiledPolicy:
    """The version's compiled policy, cached (a version's document never changes)."""
    key = (row.name, row.version, row.sha256)
    known = _compiled.get(key)
    if known is None:
        known = compile_policy(PolicyDocument.model_validate(row.document))
        _compiled[key] = known
    return known


_ACTIVE_HEAD = (
    select(DecisionPolicy)
    .where(
        DecisionPolicy.name == bindparam("name"),
        DecisionPolicy.status == PolicyStatus.ACTIVE.value,
    )
    .options(defer(DecisionPolicy.document))
)  # built once: asked on every decision


def active_policy(session: Session, name: str) -> tuple[DecisionPolicy, CompiledPolicy]:
    """The active version, compiled. Its document is read only when this process has not
    compiled that version yet (a decision per request would otherwise parse it each time)."""
    row = session.scalar(_ACTIVE_HEAD, {"name": name})
    if row is None:
        raise NoActivePolicy(f"policy {name} has no active version")
    return row, compiled(row)


def ensure_default_policy(session: Session, actor: Actor) -> DecisionPolicy:
    """The demo's default policy, active (idempotent). Setup installs it without a checker:
    there is no second person at ``lendbridge init``; later versions go through
    maker-checker."""
    from lendbridge.decisions.default_policy import NAME, default_policy

    current = active_row(session, NAME)
    if current is not None:
        return current
    row = propose(session, default_policy(), actor).row
    row.status = PolicyStatus.ACTIVE.value
    row.activated_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="decisions.policy.activate",
        target_type=TARGET,
        target_id=_target(row.name, row.version),
        before={"status": PolicyStatus.DRAFT.value},
        after={"status": row.status, "sha256": row.sha256, "setup": True},
    )
    return row
