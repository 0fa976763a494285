"""Holds in batches: many holds placed, or posted, with one lock of the accounts they touch and
one write per table, for the paths that move many payments at once (a sending run, the answers
of a batch). The rules are those of ``holds.py`` one by one: each hold is checked against the
accounts as the holds before it in the batch left them, and a refused hold is reported in its
place without stopping the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock
from lendbridge.kit.errors import (
    DomainError,
    FieldError,
    IdempotencyConflict,
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.ledger import errors
from lendbridge.ledger.engine import limit_error, lock_accounts, request_hash, stage_entry, write
from lendbridge.ledger.models import Hold, HoldStatus, Side
from lendbridge.ledger.schemas import EntryIn, HoldIn, HoldPostIn, PostingIn
from lendbridge.ledger.service.holds import _check_usable, new_hold_row


@dataclass(frozen=True)
class HoldPlaced:
    id: uuid.UUID


@dataclass(frozen=True)
class HoldPosted:
    id: uuid.UUID
    entry_id: uuid.UUID


def place_holds(
    session: Session, requests: Sequence[tuple[HoldIn, str]]
) -> list[HoldPlaced | DomainError]:
    """Place each (hold, idempotency key), in order; a key already used with the same content
    returns that hold. Returns, per request, the hold or the refusal."""
    if not requests:
        return []
    codes = {c for r, _ in requests for c in (r.debit_account, r.credit_account)}
    ws = lock_accounts(session, codes=codes)
    keys = [k for _, k in requests]
    existing = {
        h.idempotency_key: h
        for h in session.scalars(select(Hold).where(Hold.idempotency_key.in_(keys)))
    }
    now = clock.now()
    results: list[HoldPlaced | DomainError] = []
    rows: list[dict[str, Any]] = []
    for request, key in requests:
        digest = request_hash(request)
        known = existing.get(key)
        if known is not None:
            if known.request_hash != digest:
                results.append(
                    IdempotencyConflict(
                        f"this idempotency key was used for hold {known.id} with other content",
                        [FieldError("body", "differs from the original hold request")],
                    )
                )
            else:
                results.append(HoldPlaced(known.id))
            continue
        try:
            debit = ws.account(request.debit_account, "debit_account")
            credit = ws.account(request.credit_account, "credit_account")
            if debit.id == credit.id:
                raise field_error(
                    ValidationFailed, "credit_account", "must differ from debit_account"
                )
            _check_usable(debit, request.currency, "debit_account")
            _check_usable(credit, request.currency, "credit_account")
            debit.add_pending(Side.DEBIT, request.amount)
            if not debit.within_limit():
                debit.add_pending(Side.DEBIT, -request.amount)
                raise limit_error("amount", debit.code, debit.available(), debit.min_balance)
            credit.add_pending(Side.CREDIT, request.amount)
            if not credit.within_limit():
                debit.add_pending(Side.DEBIT, -request.amount)
                credit.add_pending(Side.CREDIT, -request.amount)
                raise limit_error("amount", credit.code, credit.available(), credit.min_balance)
        except DomainError as refusal:
            results.append(refusal)
            continue
        hold_id = new_id()
        rows.append(new_hold_row(hold_id, request, key, digest, debit.id, credit.id, now))
        results.append(HoldPlaced(hold_id))
    if rows:
        session.execute(insert(Hold), rows)
    write(session, ws, [])
    return results


def post_holds(
    session: Session, items: Sequence[tuple[uuid.UUID, HoldPostIn]]
) -> list[HoldPosted | DomainError]:
    """Post each pending hold (for its amount or less); a hold already posted for the same
    amount returns its entry (a safe retry). Returns, per item, the posting or the refusal."""
    if not items:
        return []
    ids = [hold_id for hold_id, _ in items]
    holds = {
        h.id: h
        for h in session.scalars(
            select(Hold).where(Hold.id.in_(ids)).order_by(Hold.id).with_for_update()
        )
    }
    account_ids = {i for h in holds.values() for i in (h.debit_account_id, h.credit_account_id)}
    ws = lock_accounts(session, ids=account_ids)
    now = clock.now()
    results: list[HoldPosted | DomainError] = []
    staged = []
    for hold_id, request in items:
        hold = holds.get(hold_id)
        if hold is None:
            results.append(errors.HoldNotFound(f"no hold has id {hold_id}"))
            continue
        amount = request.amount or hold.amount
        if hold.status == HoldStatus.POSTED and hold.entry_id is not None:
            if request.amount in (None, hold.posted_amount):
                results.append(HoldPosted(hold.id, hold.entry_id))
            else:
                results.append(errors.HoldNotPending(f"hold {hold.id} is posted"))
            continue
        if hold.status != HoldStatus.PENDING or (
            hold.expires_at is not None and hold.expires_at <= now
        ):
            results.append(errors.HoldNotPending(f"hold {hold.id} is {hold.status}"))
            continue
        if amount > hold.amount:
            results.append(
                field_error(
                    errors.HoldAmountExceeded, "amount", f"at most the pending {hold.amount}"
                )
            )
            continue
        debit, credit = ws.by_id[hold.debit_account_id], ws.by_id[hold.credit_account_id]
        debit.add_pending(Side.DEBIT, -hold.amount)
        credit.add_pending(Side.CREDIT, -hold.amount)
        entry = EntryIn.model_construct(
            postings=[
                PostingIn.model_construct(
                    account=debit.code, side=Side.DEBIT, amount=amount, currency=hold.currency
                ),
                PostingIn.model_construct(
                    account=credit.code, side=Side.CREDIT, amount=amount, currency=hold.currency
                ),
            ],
            effective_date=request.effective_date,
            description=hold.description,
            metadata=hold.meta,
            event_type=hold.event_type,
            event_id=hold.event_id,
        )
        one = stage_entry(ws, entry, idempotency_key=None, hold_id=hold.id)
        staged.append(one)
        hold.status = HoldStatus.POSTED.value
        hold.posted_amount = amount
        hold.entry_id = one.id
        hold.resolved_at = now
        results.append(HoldPosted(hold.id, one.id))
    write(session, ws, staged)
    session.flush()  # the holds' new status, one executemany
    return results


def post_entries(
    session: Session, requests: Sequence[tuple[EntryIn, str]]
) -> list[uuid.UUID | DomainError]:
    """Post independent entries under their idempotency keys with one lock of the accounts and
    one write; an entry the ledger refuses (a limit, a closed account) is reported in its place
    and the others are posted. A key already booked returns its entry (same content assumed:
    callers derive keys from the business event, e.g. ``payment:<order>:collect``)."""
    if not requests:
        return []
    ws = lock_accounts(
        session,
        codes={p.account for e, _ in requests for p in e.postings},
        keys=[k for _, k in requests],
    )
    results: list[uuid.UUID | DomainError] = []
    staged = []
    for request, key in requests:
        booked = ws.booked.get(key)
        if booked is not None:
            results.append(booked[0])
            continue
        snapshot = {a.id: (a.debits_posted, a.credits_posted, a.dirty) for a in ws.by_id.values()}
        try:
            one = stage_entry(ws, request, idempotency_key=key)
        except DomainError as refusal:
            for account in ws.by_id.values():  # undo the lines it applied before refusing
                account.debits_posted, account.credits_posted, account.dirty = snapshot[account.id]
            results.append(refusal)
            continue
        staged.append(one)
        results.append(one.id)
    write(session, ws, staged)
    return results
