"""Ledger actions that need a second person: manual journal entries made by staff.

System integrations post through ``POST /v1/ledger/entries`` (permission ``ledger.post``);
a person correcting the books requests a manual entry, and it is posted, once, under the
idempotency key ``approval:<request id>`` when a checker approves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.kit.errors import FieldError, ValidationFailed
from lendbridge.ledger import service
from lendbridge.ledger.errors import AccountNotFound
from lendbridge.ledger.schemas import EntryIn


def _entry(payload: Mapping[str, Any]) -> EntryIn:
    try:
        return EntryIn.model_validate(dict(payload))
    except ValidationError as exc:
        problems = [
            FieldError("payload." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed("payload: not a valid journal entry", problems) from None


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    entry = _entry(payload)
    for line, posting in enumerate(entry.postings):
        try:
            service.get_account(session, posting.account)
        except AccountNotFound as exc:
            raise ValidationFailed(
                f"payload.postings.{line}.account: no account {posting.account!r}",
                [FieldError(f"payload.postings.{line}.account", "no such account")],
            ) from exc
    return entry.model_dump(mode="json", exclude_none=True)


def _post(session: Session, approved: Approved) -> Payload:
    entry = _entry(approved.payload)
    metadata = {**entry.metadata, "approval": approved.request_id}
    out = service.post_entry(
        session,
        entry.model_copy(update={"metadata": metadata}),
        idempotency_key=f"approval:{approved.request_id}",
    )
    return {"entry_id": str(out.id)}


MANUAL_ENTRY = register(
    Action(
        name="ledger.manual_entry",
        description="Post a manual journal entry",
        maker_permission="ledger.manual_entry",
        validate=_validate,
        run=_post,
    )
)
