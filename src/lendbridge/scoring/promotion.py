"""The maker-checker action ``models.promote``: a risk analyst asks for a model to become the
champion (``lendbridge model promote`` or ``POST /v1/approvals``); another user with
``approvals.decide`` approves it, which makes it the champion. The model is checked when
the request is made (exists, not already champion, not retired, artifact verifies) and again
when it runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.scoring import registry

PERMISSION = "models.promote"


def _model_id(payload: Mapping[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload.get("model_id")))
    except ValueError:
        raise field_error(ValidationFailed, "payload.model_id", "must be a model id") from None


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    row = registry.get(session, _model_id(payload))
    registry.check_promotable(row)
    return {"model_id": str(row.id), "name": row.name, "version": row.version}


def _run(session: Session, approved: Approved) -> Payload:
    row = registry.make_champion(
        session, _model_id(approved.payload), approved.checker, approval_id=approved.request_id
    )
    return {"model_id": str(row.id), "name": row.name, "version": row.version, "status": row.status}


PROMOTE = register(
    Action(
        name="models.promote",
        description="Make a credit model the champion that scores applications",
        maker_permission=PERMISSION,
        validate=_validate,
        run=_run,
    )
)
