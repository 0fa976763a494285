"""Two-phase holds: an amount reserved now and later posted (fully or partly), voided or
expired — each exactly once. While pending it counts against the debited account's available
balance, so a hold can never be posted into an overdraft."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock
from lendbridge.kit.errors import FieldError, IdempotencyConflict, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.ledger import errors
from lendbridge.ledger.engine import (
    LockedAccount,
    check_limits,
    lock_accounts,
    request_hash,
    stage_entry,
    write,
)
from lendbridge.ledger.models import Account, AccountStatus, Hold, HoldStatus, Side
from lendbridge.ledger.schemas import EntryIn, HoldIn, HoldOut, HoldPostIn, PostingIn


def place_hold(session: Session, request: HoldIn, *, idempotency_key: str | None = None) -> HoldOut:
    ws = lock_accounts(session, codes=(request.debit_account, request.credit_account))
    digest = request_hash(request)
    if idempotency_key is not None:
        existing = session.scalar(select(Hold).where(Hold.idempotency_key == idempotency_key))
        if existing is not None:
            if existing.request_hash != digest:
                raise IdempotencyConflict(
                    f"this idempotency key was used for hold {existing.id} with other content",
                    [FieldError("body", "differs from the original hold request")],
                )
            return get_hold(session, existing.id)
    debit = ws.account(request.debit_account, "debit_account")
    credit = ws.account(request.credit_account, "credit_account")
    if debit.id == credit.id:
        raise field_error(ValidationFailed, "credit_account", "must differ from debit_account")
    for name, account in (("debit_account", debit), ("credit_account", credit)):
        _check_usable(account, request.currency, name)
    now = clock.now()
    if request.expires_at is not None and request.expires_at <= now:
        raise field_error(ValidationFailed, "expires_at", "must be in the future")
    debit.add_pending(Side.DEBIT, request.amount)
    credit.add_pending(Side.CREDIT, request.amount)
    check_limits(ws, "amount")
    hold_id = new_id()
    session.execute(
        insert(Hold),
        new_hold_row(hold_id, request, idempotency_key, digest, debit.id, credit.id, now),
    )
    write(session, ws, [])
    return get_hold(session, hold_id)


def new_hold_row(
    hold_id: uuid.UUID,
    request: HoldIn,
    idempotency_key: str | None,
    digest: str,
    debit_id: int,
    credit_id: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The ``ledger_hold`` row of a hold placed now."""
    return {
        "id": hold_id,
        "idempotency_key": idempotency_key,
        "request_hash": digest,
        "debit_account_id": debit_id,
        "credit_account_id": credit_id,
        "currency": request.currency,
        "amount": request.amount,
        "posted_amount": None,
        "status": HoldStatus.PENDING.value,
        "description": request.description,
        "meta": dict(request.metadata),
        "event_type": request.event_type,
        "event_id": request.event_id,
        "expires_at": request.expires_at,
        "created_at": now,
        "resolved_at": None,
        "entry_id": None,
    }


def post_hold(session: Session, hold_id: uuid.UUID, request: HoldPostIn | None = None) -> HoldOut:
    """Post a pending hold for its amount or less; the rest of the reservation is released.
    Posting again with the same amount returns the posted hold (a safe retry)."""
    request = request or HoldPostIn()
    hold = _lock_hold(session, hold_id)
    if hold.status == HoldStatus.POSTED and request.amount in (None, hold.posted_amount):
        return get_hold(session, hold_id)
    _require_pending(hold)
    amount = request.amount or hold.amount
    if amount > hold.amount:
        raise field_error(errors.HoldAmountExceeded, "amount", f"at most the pending {hold.amount}")
    ws = lock_accounts(session, ids=(hold.debit_account_id, hold.credit_account_id))
    debit, credit = ws.by_id[hold.debit_account_id], ws.by_id[hold.credit_account_id]
    debit.add_pending(Side.DEBIT, -hold.amount)
    credit.add_pending(Side.CREDIT, -hold.amount)
    entry = EntryIn(
        postings=[
            PostingIn(account=debit.code, side=Side.DEBIT, amount=amount, currency=hold.currency),
            PostingIn(account=credit.code, side=Side.CREDIT, amount=amount, currency=hold.currency),
        ],
        effective_date=request.effective_date,
        description=hold.description,
        metadata=hold.meta,
        event_type=hold.event_type,
        event_id=hold.event_id,
    )
    staged = stage_entry(ws, entry, idempotency_key=None, hold_id=hold.id)
    write(session, ws, [staged])
    hold.status = HoldStatus.POSTED.value
    hold.posted_amount = amount
    hold.entry_id = staged.id
    hold.resolved_at = clock.now()
    session.flush()
    return get_hold(session, hold_id)


def void_hold(session: Session, hold_id: uuid.UUID) -> HoldOut:
    """Release a pending hold. Voiding a voided hold again returns it unchanged."""
    hold = _lock_hold(session, hold_id)
    if hold.status == HoldStatus.VOIDED:
        return get_hold(session, hold_id)
    _require_pending(hold)
    _release(session, [hold], HoldStatus.VOIDED)
    return get_hold(session, hold_id)


def expire_holds(session: Session, *, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Expire pending holds whose time has passed (the job ``ledger.expire_holds``)."""
    now = now or clock.now()
    holds = list(
        session.scalars(
            select(Hold)
            .where(Hold.status == HoldStatus.PENDING.value, Hold.expires_at <= now)
            .order_by(Hold.id)
            .limit(limit)
            .with_for_update()
        )
    )
    _release(session, holds, HoldStatus.EXPIRED)
    return len(holds)


def get_hold(session: Session, hold_id: uuid.UUID) -> HoldOut:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise errors.HoldNotFound(f"no hold has id {hold_id}")
    codes: dict[int, str] = {
        account_id: code
        for account_id, code in session.execute(
            select(Account.id, Account.code).where(
                Account.id.in_((hold.debit_account_id, hold.credit_account_id))
            )
        )
    }
    return HoldOut(
        id=hold.id,
        debit_account=codes[hold.debit_account_id],
        credit_account=codes[hold.credit_account_id],
        currency=hold.currency,
        amount=hold.amount,
        posted_amount=hold.posted_amount,
        status=HoldStatus(hold.status),
        description=hold.description,
        metadata=hold.meta,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        resolved_at=hold.resolved_at,
        entry_id=hold.entry_id,
    )


def _lock_hold(session: Session, hold_id: uuid.UUID) -> Hold:
    hold = session.scalar(select(Hold).where(Hold.id == hold_id).with_for_update())
    if hold is None:
        raise errors.HoldNotFound(f"no hold has id {hold_id}")
    return hold


def _require_pending(hold: Hold) -> None:
    if hold.status != HoldStatus.PENDING:
        raise errors.HoldNotPending(f"hold {hold.id} is {hold.status}")
    if hold.expires_at is not None and hold.expires_at <= clock.now():
        raise errors.HoldNotPending(f"hold {hold.id} expired at {hold.expires_at.isoformat()}")


def _release(session: Session, holds: list[Hold], status: HoldStatus) -> None:
    if not holds:
        return
    ws = lock_accounts(
        session, ids={i for h in holds for i in (h.debit_account_id, h.credit_account_id)}
    )
    now = clock.now()
    for hold in holds:
        ws.by_id[hold.debit_account_id].add_pending(Side.DEBIT, -hold.amount)
        ws.by_id[hold.credit_account_id].add_pending(Side.CREDIT, -hold.amount)
        hold.status = status.value
        hold.resolved_at = now
    write(session, ws, [])
    session.flush()


def _check_usable(account: LockedAccount, currency: str, field_path: str) -> None:
    if account.currency != currency:
        raise field_error(
            errors.CurrencyMismatch,
            "currency",
            f"{field_path} {account.code} is in {account.currency}, not {currency}",
        )
    if account.status != AccountStatus.OPEN:
        raise field_error(
            errors.AccountNotOpen, field_path, f"account {account.code} is {account.status}"
        )
