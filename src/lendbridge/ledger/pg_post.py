"""One journal entry on PostgreSQL in one statement: a call of ``ledger_post_entry()``.

The function (migration 0003) locks, checks and writes inside the server, applying the rules
of :func:`lendbridge.ledger.engine.stage_entry` in the same order; this module builds its
request and turns its answer into the engine's results and errors. Entries of every other
kind (batches, streams, reversals, holds, conversions) go through the engine on both
databases.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import psycopg

from lendbridge.kit import clock
from lendbridge.kit.errors import DomainError
from lendbridge.kit.ids import new_id
from lendbridge.ledger import engine
from lendbridge.ledger.schemas import EntryIn, EntryOut, PostingOut

_CALL = "SELECT ledger_post_entry(%s::json)"


class Booked(Exception):
    """The idempotency key is already booked: (entry id, request hash) of that entry."""

    def __init__(self, entry_id: uuid.UUID, digest: str) -> None:
        super().__init__(str(entry_id))
        self.original = (entry_id, digest)


def post_entry(pg: Any, request: EntryIn, idempotency_key: str | None) -> EntryOut:
    """Post ``request`` through the database function. Raises :class:`Booked` when the key
    was already used (the caller replays or reports the conflict), or the engine's error for
    anything the entry breaks; in both cases nothing was written."""
    entry_id = new_id()
    created_at = clock.now()
    postings = request.postings
    document = {
        "id": str(entry_id),
        "k": idempotency_key,
        "h": engine.request_hash(request),
        "d": request.effective_date.isoformat() if request.effective_date else None,
        "c": created_at.isoformat(),
        "ds": request.description,
        "m": request.metadata,
        "et": request.event_type,
        "ei": request.event_id,
        "p": [[p.account, p.side.value, p.amount, p.currency] for p in postings],
    }
    try:
        row = pg.execute(_CALL, (json.dumps(document, separators=(",", ":")),)).fetchone()
    except psycopg.errors.IntegrityError as exc:
        raise engine.integrity_to_domain(str(exc)) from exc
    result: dict[str, Any] = row[0]
    if "booked" in result:
        booked_id, digest = result["booked"]
        raise Booked(uuid.UUID(booked_id), digest)
    if "error" in result:
        raise _error(request, result)
    # Every value below was validated on the way in (the request) or produced here: build
    # the answer without validating it a second time.
    return EntryOut.model_construct(
        id=entry_id,
        effective_date=dt.date.fromisoformat(result["effective_date"]),
        created_at=created_at,
        description=request.description,
        metadata=request.metadata,
        event_type=request.event_type,
        event_id=request.event_id,
        idempotency_key=idempotency_key,
        reverses_id=None,
        batch_id=None,
        link_id=None,
        hold_id=None,
        postings=[
            PostingOut.model_construct(
                line=line, account=p.account, side=p.side, amount=p.amount, currency=p.currency
            )
            for line, p in enumerate(postings)
        ],
    )


def _error(request: EntryIn, result: dict[str, Any]) -> DomainError:
    kind = result["error"]
    if kind == "unknown_account":
        return engine.unknown_accounts_error(
            "", [(line, request.postings[line].account) for line in result["lines"]]
        )
    line = result["line"]
    posting = request.postings[line]
    path = f"postings.{line}"
    if kind == "currency_mismatch":
        return engine.currency_mismatch_error(
            path, posting.account, result["currency"], posting.currency
        )
    if kind == "not_open":
        return engine.not_open_error(path, posting.account, result["status"])
    if kind == "overflow":
        return engine.overflow_error(path, posting.account)
    if kind == "limit":
        return engine.limit_error(
            "postings", posting.account, int(result["available"]), int(result["min"])
        )
    raise RuntimeError(f"ledger_post_entry() answered an unknown error: {result!r}")
