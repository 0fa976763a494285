"""Posting journal entries: single, atomic batch, bulk stream, reversal and currency exchange."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock, db
from lendbridge.kit.errors import FieldError, IdempotencyConflict, ValidationFailed
from lendbridge.kit.ids import new_id
from lendbridge.kit.money import convert
from lendbridge.ledger import bulk, errors, pg_post
from lendbridge.ledger.bulk import BulkEntry
from lendbridge.ledger.engine import (
    StagedEntry,
    WorkingSet,
    lock_accounts,
    request_hash,
    stage_entry,
    write,
)
from lendbridge.ledger.models import Account, Batch, Entry, FxConversion, Posting, Side
from lendbridge.ledger.schemas import (
    BatchIn,
    BatchOut,
    EntryIn,
    EntryOut,
    PostingIn,
    PostingOut,
    ReverseIn,
)

# Callers' keys; stored keys may carry a short suffix derived from them (see convert_currency).
MAX_KEY_LENGTH = 200


def post_entry(
    session: Session, request: EntryIn, *, idempotency_key: str | None = None
) -> EntryOut:
    """Post one balanced entry. With an idempotency key the entry is written at most once:
    the same key with the same content returns the original entry and writes nothing; with
    different content it is a conflict naming the fields that differ."""
    pg = db.postgres_connection(session)
    if pg is not None:  # one statement: the same rules, applied inside the database
        try:
            return pg_post.post_entry(pg, request, idempotency_key)
        except pg_post.Booked as booked:
            return _replay(session, booked.original, request)
    ws = lock_accounts(
        session,
        codes=(p.account for p in request.postings),
        keys=(idempotency_key,) if idempotency_key is not None else (),
    )
    if idempotency_key is not None and idempotency_key in ws.booked:
        return _replay(session, ws.booked[idempotency_key], request)
    staged = stage_entry(ws, request, idempotency_key=idempotency_key)
    write(session, ws, [staged])
    return staged_out(staged)


def post_batch(session: Session, request: BatchIn, *, idempotency_key: str) -> BatchOut:
    """Post several entries all together or not at all (an atomic group)."""
    ws = lock_accounts(session, codes=(p.account for e in request.entries for p in e.postings))
    digest = request_hash(request)
    existing = session.scalar(select(Batch).where(Batch.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.request_hash != digest:
            raise IdempotencyConflict(
                "this idempotency key was used for a different batch",
                [FieldError("entries", "differ from the batch first posted with this key")],
            )
        ids = session.scalars(
            select(Entry.id)
            .where(Entry.batch_id == existing.id)
            .order_by(Entry.created_at, Entry.id)
        ).all()
        return BatchOut(id=existing.id, entries=load_entries(session, ids))
    batch_id = new_id()
    now = clock.now()
    staged = [
        stage_entry(
            ws,
            entry,
            idempotency_key=None,
            field_prefix=f"entries.{i}.",
            batch_id=batch_id,
            now=now,
        )
        for i, entry in enumerate(request.entries)
    ]
    session.execute(
        insert(Batch),
        {
            "id": batch_id,
            "idempotency_key": idempotency_key,
            "request_hash": digest,
            "entry_count": len(staged),
            "created_at": now,
        },
    )
    write(session, ws, staged)
    return BatchOut(id=batch_id, entries=[staged_out(s) for s in staged])


def post_bulk(
    session: Session,
    entries: Iterable[BulkEntry],
    *,
    chunk_size: int = bulk.DEFAULT_CHUNK_SIZE,
) -> int:
    """Post a stream of plain-valued entries (a daily close: thousands per transaction) in
    stream order inside the caller's transaction, holding one chunk in memory at a time.
    Entries whose key is already booked with the same content are skipped, so a rerun after
    a crash continues where it stopped; the same key with different content is a conflict.
    All or nothing: on any error nothing of this call is written. Returns how many entries
    were written. On PostgreSQL the rows travel by COPY (see ``lendbridge.ledger.bulk``)."""

    def conflict(original: bulk.Booked, entry: BulkEntry, index: int) -> None:
        _check_same(
            session, (original.entry_id, original.digest), entry.to_model(f"entries.{index}.")
        )

    return bulk.post_bulk(session, entries, chunk_size=chunk_size, on_booked_differently=conflict)


def post_stream(
    session: Session,
    entries: Iterable[tuple[EntryIn, str | None]],
    *,
    chunk_size: int = 1000,
) -> int:
    """``post_bulk`` for (entry, idempotency key) pairs of validated models."""
    return post_bulk(
        session, (BulkEntry.from_model(e, k) for e, k in entries), chunk_size=chunk_size
    )


def reverse_entry(
    session: Session,
    entry_id: uuid.UUID,
    request: ReverseIn | None = None,
    *,
    idempotency_key: str | None = None,
) -> EntryOut:
    """Correct an entry by posting its mirror image, linked to it. Entries are never changed;
    each entry can be reversed once."""
    request = request or ReverseIn()
    original = load_entries(session, [entry_id])
    if not original:
        raise errors.EntryNotFound(f"no journal entry has id {entry_id}")
    source = original[0]
    mirror = EntryIn(
        postings=[
            PostingIn(
                account=p.account,
                side=Side.CREDIT if p.side == Side.DEBIT else Side.DEBIT,
                amount=p.amount,
                currency=p.currency,
            )
            for p in source.postings
        ],
        effective_date=request.effective_date,
        description=request.description or f"Reversal of {source.id}: {source.description}"[:500],
        metadata={"reverses": str(source.id)},
        event_type="ledger.reversal",
        event_id=str(source.id),
    )
    ws = lock_accounts(
        session,
        codes=(p.account for p in mirror.postings),
        keys=(idempotency_key,) if idempotency_key is not None else (),
    )
    if idempotency_key is not None and idempotency_key in ws.booked:
        return _replay(session, ws.booked[idempotency_key], mirror)
    already = session.scalar(select(Entry.id).where(Entry.reverses_id == entry_id))
    if already is not None:
        raise errors.AlreadyReversed(f"entry {entry_id} was already reversed by {already}")
    staged = stage_entry(ws, mirror, idempotency_key=idempotency_key, reverses_id=entry_id)
    write(session, ws, [staged])
    return staged_out(staged)


def convert_currency(
    session: Session,
    *,
    source_account: str,
    target_account: str,
    source_amount: int,
    rate: Decimal,
    source_fx_account: str,
    target_fx_account: str,
    effective_date: dt.date | None = None,
    description: str = "",
    idempotency_key: str | None = None,
) -> tuple[EntryOut, EntryOut]:
    """Move value from an account in one currency to an account in another at ``rate`` (target
    major units per source major unit): two entries, each balanced in its own currency through
    that currency's FX position account, linked, with the rate recorded."""
    if rate <= 0:
        raise ValidationFailed("rate: must be positive", [FieldError("rate", "must be positive")])
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"idempotency_key: 1-{MAX_KEY_LENGTH} characters",
            [FieldError("idempotency_key", f"must be 1-{MAX_KEY_LENGTH} characters")],
        )
    source_key = f"{idempotency_key}:source" if idempotency_key else None
    target_key = f"{idempotency_key}:target" if idempotency_key else None
    ws = lock_accounts(
        session,
        codes=(source_account, target_account, source_fx_account, target_fx_account),
        keys=[source_key] if source_key else [],
    )
    if source_key is not None and source_key in ws.booked:
        return _replay_conversion(
            session, ws.booked[source_key][0], source_account, target_account, source_amount, rate
        )
    src = ws.account(source_account, "source_account")
    dst = ws.account(target_account, "target_account")
    target_amount = convert(source_amount, rate, src.currency, dst.currency)
    if target_amount <= 0:
        raise ValidationFailed(
            "source_amount: converts to nothing at this rate",
            [FieldError("source_amount", "converts to nothing at this rate")],
        )
    # Value leaves the source (decrease on its normal side) and arrives at the target.
    out_side = Side.CREDIT if src.debit_normal else Side.DEBIT
    in_side = Side.DEBIT if dst.debit_normal else Side.CREDIT
    link_id = new_id()
    common: dict[str, Any] = {
        "effective_date": effective_date,
        "description": description or f"FX {src.currency}->{dst.currency} at {rate}",
        "metadata": {"fx_rate": str(rate), "link": str(link_id)},
        "event_type": "ledger.fx_conversion",
        "event_id": str(link_id),
    }
    opposite = {Side.DEBIT: Side.CREDIT, Side.CREDIT: Side.DEBIT}
    source_entry = EntryIn(
        postings=[
            PostingIn(
                account=source_account, side=out_side, amount=source_amount, currency=src.currency
            ),
            PostingIn(
                account=source_fx_account,
                side=opposite[out_side],
                amount=source_amount,
                currency=src.currency,
            ),
        ],
        **common,
    )
    target_entry = EntryIn(
        postings=[
            PostingIn(
                account=target_fx_account,
                side=opposite[in_side],
                amount=target_amount,
                currency=dst.currency,
            ),
            PostingIn(
                account=target_account, side=in_side, amount=target_amount, currency=dst.currency
            ),
        ],
        **common,
    )
    first_staged = stage_entry(ws, source_entry, link_id=link_id, idempotency_key=source_key)
    second_staged = stage_entry(ws, target_entry, link_id=link_id, idempotency_key=target_key)
    write(session, ws, [first_staged, second_staged])
    session.execute(
        insert(FxConversion),
        {
            "id": link_id,
            "source_entry_id": first_staged.id,
            "target_entry_id": second_staged.id,
            "source_currency": src.currency,
            "target_currency": dst.currency,
            "source_amount": source_amount,
            "target_amount": target_amount,
            "rate": str(rate),
            "created_at": clock.now(),
        },
    )
    return staged_out(first_staged), staged_out(second_staged)


def _replay_conversion(
    session: Session,
    source_entry_id: uuid.UUID,
    source_account: str,
    target_account: str,
    source_amount: int,
    rate: Decimal,
) -> tuple[EntryOut, EntryOut]:
    conversion = session.scalar(
        select(FxConversion).where(FxConversion.source_entry_id == source_entry_id)
    )
    if conversion is None:
        raise IdempotencyConflict("this idempotency key was used for an entry, not a conversion")
    first, second = load_entries(session, [conversion.source_entry_id, conversion.target_entry_id])
    problems = []
    if Decimal(conversion.rate) != rate:
        problems.append(FieldError("rate", f"original rate was {conversion.rate}"))
    if conversion.source_amount != source_amount:
        problems.append(FieldError("source_amount", "differs from the original conversion"))
    if first.postings[0].account != source_account:
        problems.append(FieldError("source_account", "differs from the original conversion"))
    if second.postings[1].account != target_account:
        problems.append(FieldError("target_account", "differs from the original conversion"))
    if problems:
        raise IdempotencyConflict(
            "this idempotency key was used for a different conversion", problems
        )
    return first, second


def get_entry(session: Session, entry_id: uuid.UUID) -> EntryOut:
    found = load_entries(session, [entry_id])
    if not found:
        raise errors.EntryNotFound(f"no journal entry has id {entry_id}")
    return found[0]


# --- reading back and comparing ----------------------------------------------------------


def staged_out(staged: StagedEntry) -> EntryOut:
    return EntryOut(
        id=staged.id,
        effective_date=staged.effective_date,
        created_at=staged.created_at,
        description=staged.description,
        metadata=staged.metadata,
        event_type=staged.event_type,
        event_id=staged.event_id,
        idempotency_key=staged.idempotency_key,
        reverses_id=staged.reverses_id,
        batch_id=staged.batch_id,
        link_id=staged.link_id,
        hold_id=staged.hold_id,
        postings=[
            PostingOut(
                line=p.line,
                account=p.account.code,
                side=Side(p.side),
                amount=p.amount,
                currency=p.currency,
            )
            for p in staged.postings
        ],
    )


def load_entries(session: Session, ids: Sequence[uuid.UUID]) -> list[EntryOut]:
    if not ids:
        return []
    entries = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(ids)))}
    lines: dict[uuid.UUID, list[PostingOut]] = {i: [] for i in entries}
    rows = session.execute(
        select(
            Posting.entry_id,
            Posting.line,
            Account.code,
            Posting.side,
            Posting.amount,
            Posting.currency,
        )
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id.in_(list(entries)))
        .order_by(Posting.entry_id, Posting.line)
    )
    for entry_id, line, code, side, amount, currency in rows:
        lines[entry_id].append(
            PostingOut(line=line, account=code, side=Side(side), amount=amount, currency=currency)
        )
    return [
        EntryOut(
            id=e.id,
            effective_date=e.effective_date,
            created_at=e.created_at,
            description=e.description,
            metadata=e.meta,
            event_type=e.event_type,
            event_id=e.event_id,
            idempotency_key=e.idempotency_key,
            reverses_id=e.reverses_id,
            batch_id=e.batch_id,
            link_id=e.link_id,
            hold_id=e.hold_id,
            postings=lines[e.id],
        )
        for i in ids
        if (e := entries.get(i)) is not None
    ]


def _replay(session: Session, original: tuple[uuid.UUID, str], request: EntryIn) -> EntryOut:
    _check_same(session, original, request)
    return load_entries(session, [original[0]])[0]


def _check_same(session: Session, original: tuple[uuid.UUID, str], request: EntryIn) -> None:
    entry_id, digest = original
    if digest == request_hash(request):
        return
    stored = load_entries(session, [entry_id])[0]
    problems = _differences(stored, request)
    fields = ", ".join(p.field for p in problems) or "content"
    raise IdempotencyConflict(
        f"this idempotency key was used for entry {entry_id} with a different {fields}",
        problems,
        {"entry_id": str(entry_id)},
    )


def _differences(stored: EntryOut, request: EntryIn) -> list[FieldError]:
    problems: list[FieldError] = []
    stored_lines = [(p.account, p.side, p.amount, p.currency) for p in stored.postings]
    asked_lines = [(p.account, p.side, p.amount, p.currency) for p in request.postings]
    if stored_lines != asked_lines:
        problems.append(FieldError("postings", "differ from the original entry's postings"))
    if request.effective_date is not None and request.effective_date != stored.effective_date:
        problems.append(FieldError("effective_date", f"original is {stored.effective_date}"))
    for name in ("description", "metadata", "event_type", "event_id"):
        if getattr(request, name) != getattr(stored, name):
            problems.append(FieldError(name, "differs from the original entry"))
    if not problems:
        problems.append(FieldError("effective_date", "the original used another default date"))
    return problems


__all__ = [
    "WorkingSet",
    "convert_currency",
    "get_entry",
    "load_entries",
    "post_batch",
    "post_bulk",
    "post_entry",
    "post_stream",
    "reverse_entry",
    "staged_out",
]
