"""``payments.recon.adjust``: settle a break with an adjusting ledger entry, after a checker
approves it (maker permission ``payments.recon``).

The entry moves the break's difference between the channel's clearing account and a counter
account (suspense 1901.001 unless the maker names another), so that the clearing account
shows what the channel's statement shows. Its side follows from the break: the clearing
account is debited when the channel moved more money *to* it than the platform booked (a
collection the platform does not have, a payment the channel did not make), credited
otherwise. The amount and the sides are computed when the request is made, shown to the
checker in the payload, and computed again on approval: a break that changed or was
resolved meanwhile is refused, never booked twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.kit import calendar
from lendbridge.kit.errors import Conflict, FieldError, ValidationFailed, field_error
from lendbridge.ledger import service as ledger
from lendbridge.ledger.errors import AccountNotFound
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from lendbridge.payments.channels.base import Direction
from lendbridge.payments.models import OrderStatus, PaymentChannel, PaymentOrder
from lendbridge.payments.recon.breaks import ADJUST_ACTION, close, require_open
from lendbridge.payments.recon.models import BreakKind, Movement, ReconBreak, Resolution
from lendbridge.payments.recon.schemas import AdjustIn

EVENT_TYPE = "payment_recon"
MONEY_MOVED = frozenset({"succeeded", "reversed"})


class NothingToAdjust(Conflict):
    code = "recon_nothing_to_adjust"
    title = "The break has no difference an entry could settle"


def _effect(direction: str, movement: Movement, amount: int) -> int:
    """A movement's effect on the clearing account, debit positive: a collection brings
    money in, a payment takes it out, a reversal undoes either."""
    sign = 1 if direction == Direction.COLLECT else -1
    return sign * amount * (-1 if movement == Movement.REVERSAL else 1)


def clearing_difference(found: ReconBreak, order_direction: str | None) -> int:
    """What the channel moved through clearing minus what the platform booked, debit
    positive."""
    movement = Movement(found.movement or Movement.SUCCESS)
    direction = found.direction or ""
    statement = found.statement_amount or 0
    platform = found.platform_amount or 0
    if found.kind == BreakKind.MISSING_AT_CHANNEL:
        statement = 0
    elif found.kind == BreakKind.MISSING_ON_PLATFORM:
        platform = 0
    elif found.kind == BreakKind.STATUS_MISMATCH:
        if found.statement_status not in MONEY_MOVED:
            statement = 0
        booked = (
            {OrderStatus.SUCCEEDED.value, OrderStatus.REVERSED.value}
            if movement == Movement.SUCCESS
            else {OrderStatus.REVERSED.value}
        )
        if found.platform_status not in booked:
            platform = 0
    return _effect(direction, movement, statement) - _effect(
        order_direction or direction, movement, platform
    )


def _request(payload: Mapping[str, Any]) -> AdjustIn:
    try:
        return AdjustIn.model_validate(dict(payload))
    except ValidationError as exc:
        problems = [
            FieldError("payload." + ".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed("payload: not a valid adjustment request", problems) from None


def _plan(session: Session, request: AdjustIn, *, lock: bool) -> tuple[ReconBreak, Payload]:
    stmt = select(ReconBreak).where(ReconBreak.id == request.break_id)
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise field_error(
            ValidationFailed, "payload.break_id", f"no reconciliation break {request.break_id}"
        )
    require_open(found)
    if found.kind == BreakKind.UNREADABLE_LINE or found.currency is None:
        raise field_error(
            NothingToAdjust,
            "payload.break_id",
            "an unreadable line has no amount: explain it, or re-import a corrected statement",
        )
    if found.kind == BreakKind.STATUS_MISMATCH and found.platform_status == "mixed":
        raise field_error(
            NothingToAdjust,
            "payload.break_id",
            "the batch's orders are in different states: settle them first, then explain",
        )
    order_direction = None
    if found.order_id is not None:
        order_direction = session.scalar(
            select(PaymentOrder.direction).where(PaymentOrder.id == found.order_id)
        )
    difference = clearing_difference(found, order_direction)
    if difference == 0:
        raise field_error(
            NothingToAdjust, "payload.break_id", "no difference to book: explain the break instead"
        )
    channel = session.get(PaymentChannel, found.channel)
    assert channel is not None, "a run's channel is a foreign key"
    clearing = channel.clearing_account
    if request.counter_account == clearing:
        raise field_error(
            ValidationFailed,
            "payload.counter_account",
            "must not be the channel's clearing account itself",
        )
    try:
        account = ledger.get_account(session, request.counter_account)
    except AccountNotFound:
        raise field_error(
            ValidationFailed,
            "payload.counter_account",
            f"no ledger account has code {request.counter_account!r}",
        ) from None
    if account.currency != found.currency:
        raise field_error(
            ValidationFailed,
            "payload.counter_account",
            f"account {account.code} is in {account.currency}, the break in {found.currency}",
        )
    debit, credit = (
        (clearing, request.counter_account)
        if difference > 0
        else (request.counter_account, clearing)
    )
    plan: Payload = {
        "break_id": found.id,
        "counter_account": request.counter_account,
        "note": request.note,
        "kind": found.kind,
        "channel": found.channel,
        "amount": abs(difference),
        "currency": found.currency,
        "debit_account": debit,
        "credit_account": credit,
    }
    return found, plan


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    _, plan = _plan(session, _request(payload), lock=False)
    return plan


def _adjust(session: Session, approved: Approved) -> Payload:
    request = _request({k: approved.payload[k] for k in ("break_id", "counter_account", "note")})
    found, plan = _plan(session, request, lock=True)
    if {k: plan[k] for k in plan} != {k: approved.payload.get(k) for k in plan}:
        raise Conflict(
            f"break {found.id} changed since the adjustment was requested; request it again"
        )
    entry = ledger.post_entry(
        session,
        EntryIn(
            postings=[
                PostingIn(
                    account=plan["debit_account"],
                    side=Side.DEBIT,
                    amount=plan["amount"],
                    currency=plan["currency"],
                ),
                PostingIn(
                    account=plan["credit_account"],
                    side=Side.CREDIT,
                    amount=plan["amount"],
                    currency=plan["currency"],
                ),
            ],
            effective_date=calendar.business_date(session),
            description=f"Reconciliation adjustment: {found.channel} break {found.id} "
            f"({found.kind})"[:500],
            metadata={"approval": approved.request_id, "break_id": found.id},
            event_type=EVENT_TYPE,
            event_id=str(found.id),
        ),
        idempotency_key=f"approval:{approved.request_id}",
    )
    close(
        session,
        found,
        Resolution.ADJUSTED,
        note=request.note or f"adjusting entry {entry.id}",
        by=approved.checker,
        action="payments.recon.break.adjusted",
        approval_id=uuid.UUID(approved.request_id),
        entry_id=entry.id,
    )
    return {"entry_id": str(entry.id), "break_id": found.id}


ADJUST = register(
    Action(
        name=ADJUST_ACTION,
        description="Settle a reconciliation break with an adjusting ledger entry",
        maker_permission="payments.recon",
        validate=_validate,
        run=_adjust,
    )
)
