"""The loan workout's maker-checker actions: ``loans.restructure`` and ``loans.write_off``.

Staff request them (permission ``loans.workout.request``; ``POST /v1/loans/{id}/restructure``
and ``/write-off``, or ``POST /v1/approvals``); another user with ``approvals.decide``
approves them at ``/v1/approvals/{id}/approve``, which runs them once. The payload is checked
when the request is made — the loan exists and may make the change, and a restructure's new
terms give a schedule within the product's APR cap (worked out as it would run today, nothing
kept) — and again when it runs: a loan that changed meanwhile is refused then, and the
approval with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.approvals.models import ApprovalRequest
from lendbridge.kit.errors import FieldError, ValidationFailed, field_error
from lendbridge.servicing import loans, restructure, writeoff
from lendbridge.servicing.workout_schemas import RestructureTermsIn

REQUEST = "loans.workout.request"


def _loan_id(payload: Mapping[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload.get("loan_id")))
    except ValueError:
        raise field_error(ValidationFailed, "payload.loan_id", "must be a loan id") from None


def _terms(payload: Mapping[str, Any]) -> RestructureTermsIn:
    fields = {k: v for k, v in payload.items() if k != "loan_id"}
    try:
        return RestructureTermsIn.model_validate(fields)
    except ValidationError as exc:
        errors = [
            FieldError("payload." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed("the restructure's terms are not valid", errors) from None


def _reason(session: Session, approved: Approved) -> str:
    """The maker's reason, as the approval request holds it."""
    row = session.get(ApprovalRequest, uuid.UUID(approved.request_id))
    return row.reason if row is not None else "approved"


def restructure_payload(loan_id: uuid.UUID, terms: RestructureTermsIn) -> Payload:
    return {"loan_id": str(loan_id), **terms.model_dump(mode="json")}


def _validate_restructure(session: Session, payload: Mapping[str, Any]) -> Payload:
    loan_id, terms = _loan_id(payload), _terms(payload)
    restructure.preview(session, loan_id, terms)  # refuses what could not run
    return restructure_payload(loan_id, terms)


def _run_restructure(session: Session, approved: Approved) -> Payload:
    return restructure.restructure(
        session,
        _loan_id(approved.payload),
        _terms(approved.payload),
        reason=_reason(session, approved),
        actor=approved.checker,
        approval_id=approved.request_id,
    )


def _validate_write_off(session: Session, payload: Mapping[str, Any]) -> Payload:
    loan_id = _loan_id(payload)
    writeoff.check_writable_off(loans.load(session, loan_id))
    return {"loan_id": str(loan_id)}


def _run_write_off(session: Session, approved: Approved) -> Payload:
    return writeoff.write_off(
        session,
        _loan_id(approved.payload),
        reason=_reason(session, approved),
        actor=approved.checker,
        approval_id=approved.request_id,
    )


RESTRUCTURE = register(
    Action(
        name="loans.restructure",
        description="Restructure a loan: a new schedule at a new term or rate",
        maker_permission=REQUEST,
        validate=_validate_restructure,
        run=_run_restructure,
    )
)
WRITE_OFF = register(
    Action(
        name="loans.write_off",
        description="Write a loan off: its receivables against its provision and expense",
        maker_permission=REQUEST,
        validate=_validate_write_off,
        run=_run_write_off,
    )
)
