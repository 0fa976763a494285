"""The maker-checker action ``decisions.activate_policy``: a proposer (``policies.propose``)
asks, another user with ``approvals.decide`` approves at ``/v1/approvals/{id}/approve``, and
the version becomes the active one (the previous active version is retired)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.approvals.service import request_action
from lendbridge.decisions import policies
from lendbridge.decisions.models import PolicyStatus
from lendbridge.decisions.policy import PolicyDocument
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed, field_error

PROPOSE = "policies.propose"
ACTION = "decisions.activate_policy"


def _key(payload: Mapping[str, Any]) -> tuple[str, int]:
    name, version = payload.get("name"), payload.get("version")
    if not isinstance(name, str) or not name:
        raise field_error(ValidationFailed, "payload.name", "must be a policy name")
    if type(version) is not int or version < 1:
        raise field_error(ValidationFailed, "payload.version", "must be a version number")
    return name, version


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    name, version = _key(payload)
    policies.check_activatable(policies.load(session, name, version))
    return {"name": name, "version": version}


def _run(session: Session, approved: Approved) -> Payload:
    name, version = _key(approved.payload)
    row = policies.activate(
        session, name, version, approved.checker, approval_id=approved.request_id
    )
    return {"name": row.name, "version": row.version, "status": row.status}


ACTIVATE_POLICY = register(
    Action(
        name=ACTION,
        description="Activate a decision policy version (the active one before it is retired)",
        maker_permission=PROPOSE,
        validate=_validate,
        run=_run,
    )
)


def propose_for_activation(
    session: Session, document: PolicyDocument, actor: Actor
) -> tuple[policies.Proposed, uuid.UUID | None]:
    """Propose a version and ask for its activation (maker: ``actor``). A document equal to
    a pending or active version changes nothing and returns its approval request, if any."""
    proposed = policies.propose(session, document, actor)
    row = proposed.row
    if row.status != PolicyStatus.DRAFT:
        return proposed, row.approval_id
    request = request_action(
        session,
        actor,
        action=ACTION,
        payload={"name": row.name, "version": row.version},
        reason=f"activate policy {row.name} version {row.version}: "
        + (document.description or "new version")[:400],
    )
    row.status = PolicyStatus.PENDING.value
    row.approval_id = request.id
    session.flush()
    return proposed, request.id
