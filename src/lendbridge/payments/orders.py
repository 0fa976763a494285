"""Creating and reading payment orders."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, crypto, jobs
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import (
    DomainError,
    FieldError,
    IdempotencyConflict,
    NotFound,
    ValidationFailed,
    field_error,
)
from lendbridge.kit.ids import new_id
from lendbridge.kit.masking import mask_bank_card, mask_name
from lendbridge.ledger.models import Account, AccountStatus
from lendbridge.payments import usage
from lendbridge.payments.models import (
    ChannelStatus,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    PaymentChannel,
    PaymentNote,
    PaymentOrder,
    PaymentTransition,
)
from lendbridge.payments.schemas import (
    DIRECTION_OF,
    AttemptOut,
    NoteOut,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderPage,
    TransitionOut,
)

PARTY_INDEX = "payment_order.party_account"
SEND_DUE_JOB = "payments.send_due"
_WAKE_KEY = "lendbridge.payments.wake"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_wakes(session: Session) -> None:
    session.info.pop(_WAKE_KEY, None)


def wake_sender(session: Session, at: dt.datetime, *, request_id: str | None = None) -> None:
    """Make sure a sending job runs at ``at`` after this transaction commits: one job per
    transaction and time, however many orders it made due (the orders themselves, by their
    ``next_attempt_at``, are the queue)."""
    now = clock.now()
    when = max(at, now)
    scheduled: set[dt.datetime] = session.info.setdefault(_WAKE_KEY, set())
    if when in scheduled or (when == now and any(t <= now for t in scheduled)):
        return
    scheduled.add(when)
    jobs.enqueue(session, SEND_DUE_JOB, {}, delay=when - now, request_id=request_id)


class OrderNotFound(NotFound):
    code = "payment_order_not_found"


class LimitExceeded(ValidationFailed):
    code = "channel_limit_exceeded"
    title = "The payment channel's limit would be exceeded"


def request_hash(request: OrderIn) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def active_channel(session: Session, name: str, field_path: str = "channel") -> PaymentChannel:
    channel = session.get(PaymentChannel, name)
    if channel is None:
        raise field_error(ValidationFailed, field_path, f"no payment channel is named {name!r}")
    if channel.status != ChannelStatus.ACTIVE:
        raise field_error(ValidationFailed, field_path, f"payment channel {name!r} is disabled")
    return channel


def create_order(
    session: Session,
    request: OrderIn,
    *,
    idempotency_key: str,
    actor: Actor,
    timezone: str = "Asia/Shanghai",
    order_id: uuid.UUID | None = None,
) -> tuple[OrderOut, bool]:
    """Create an order and queue its sending (after the commit). The same key with the same
    request returns the first order; returns (order, created).

    ``order_id``: the id the caller chose for the order (a repayment stores it on its own row
    before the order exists), and the promise that the key is new too: the caller made it from
    an id it has just generated, so no earlier order can hold it and the look-up is skipped
    (the unique key still stands guard)."""
    return create_orders(
        session,
        [(request, idempotency_key)],
        actor=actor,
        timezone=timezone,
        new_ids=None if order_id is None else [order_id],
    )[0]


def create_orders(
    session: Session,
    requests: Sequence[tuple[OrderIn, str]],
    *,
    actor: Actor,
    timezone: str = "Asia/Shanghai",
    field_prefix: str = "",
    new_ids: Sequence[uuid.UUID] | None = None,
) -> list[tuple[OrderOut, bool]]:
    """Create many orders at once (a disbursement run, the day's auto-debits): all or none,
    each checked as if alone and against the channel limits the ones before it used. Field
    paths of refusals are prefixed ``orders.<i>.`` when there is more than one.

    ``new_ids``: the orders' ids, chosen by a caller whose keys are all new (see
    :func:`create_order`)."""
    keys = [key for _, key in requests]
    if len(set(keys)) != len(keys):
        raise field_error(ValidationFailed, "Idempotency-Key", "repeats within the batch")
    if new_ids is not None and len(new_ids) != len(requests):
        raise ValueError("one new id per order")
    existing = (
        {}
        if new_ids is not None
        else {
            o.idempotency_key: o
            for o in session.scalars(
                select(PaymentOrder).where(PaymentOrder.idempotency_key.in_(keys))
            )
        }
    )
    day = calendar.business_date(session)
    now = clock.now()
    channels: dict[str, PaymentChannel] = {}
    accounts = {
        a.code: a
        for a in session.scalars(
            select(Account).where(Account.code.in_({r.account for r, _ in requests}))
        )
    }
    results: list[tuple[OrderOut, bool]] = []
    created: list[PaymentOrder] = []
    prefixes: list[str] = []
    many = len(requests) > 1
    for i, (request, key) in enumerate(requests):
        prefix = f"{field_prefix}orders.{i}." if many else field_prefix
        digest = request_hash(request)
        known = existing.get(key)
        if known is not None:
            if known.request_hash != digest:
                raise IdempotencyConflict(
                    f"this idempotency key was used for payment order {known.id} with other "
                    "content",
                    [FieldError(f"{prefix}body" if many else "body", "differs from the original")],
                )
            results.append((to_out(known), False))
            continue
        try:
            channel = channels.get(request.channel) or active_channel(session, request.channel)
            channels[channel.name] = channel
            _check_request(request, channel, accounts.get(request.account))
            _check_order_limit(request, channel)
        except DomainError as refusal:
            raise _numbered(refusal, prefix) if many else refusal from None
        order_id = new_ids[i] if new_ids is not None else new_id()
        order = _new_order(order_id, request, key, digest, channel, day, now, timezone)
        created.append(order)
        prefixes.append(prefix)
        results.append((to_out(order), True))
    if not created:
        return results
    session.add_all(created)
    session.add_all(
        PaymentTransition(
            order_id=order.id,
            from_status=None,
            to_status=OrderStatus.CREATED.value,
            reason="created",
            actor=actor.user_id or "system",
            at=now,
        )
        for order in created
    )
    session.flush()
    for order in created:
        record(
            session,
            actor,
            action="payments.order.created",
            target_type="payment_order",
            target_id=str(order.id),
            after={
                "kind": order.kind,
                "channel": order.channel,
                "account": order.account,
                "amount": order.amount,
                "currency": order.currency,
                "party_account": order.party_account_masked,
                "idempotency_key": order.idempotency_key,
            },
        )
    for when in sorted({o.next_attempt_at or now for o in created}):
        wake_sender(session, when, request_id=actor.request_id)
    # Last: the usage counters stay locked until the commit, so take them when little is left
    # to do before it.
    _take_daily_limits(session, created, prefixes, channels, day, many)
    return results


def _numbered(refusal: DomainError, prefix: str) -> DomainError:
    """The refusal of one order of a batch, its fields named ``orders.<i>.<field>``."""
    return type(refusal)(
        f"{prefix}{refusal.detail}",
        [FieldError(f"{prefix}{e.field}", e.message) for e in refusal.errors],
        refusal.extra,
    )


def _take_daily_limits(
    session: Session,
    created: list[PaymentOrder],
    prefixes: list[str],
    channels: dict[str, PaymentChannel],
    day: dt.date,
    many: bool,
) -> None:
    """Count the new orders against their channels' daily limits, refusing the first order
    (in request order) that would take a channel past its limit."""
    totals: dict[str, int] = {}
    for order in created:
        totals[order.channel] = totals.get(order.channel, 0) + order.amount
    used_before: dict[str, int] = {}
    for name in sorted(totals):  # one lock order for every creator
        after = usage.take(session, name, day, totals[name])
        if after > channels[name].daily_limit:
            used_before[name] = after - totals[name]
    if not used_before:
        return
    for order, prefix in zip(created, prefixes, strict=True):
        if order.channel not in used_before:
            continue
        channel = channels[order.channel]
        used = used_before[order.channel]
        if used + order.amount > channel.daily_limit:
            refusal = field_error(
                LimitExceeded,
                "amount",
                f"channel {channel.name}'s daily limit of {channel.daily_limit} would be "
                f"exceeded ({used} already used on {day})",
            )
            raise _numbered(refusal, prefix) if many else refusal
        used_before[order.channel] = used + order.amount


def _new_order(
    order_id: uuid.UUID,
    request: OrderIn,
    key: str,
    digest: str,
    channel: PaymentChannel,
    day: dt.date,
    now: dt.datetime,
    timezone: str,
) -> PaymentOrder:
    number = request.party.account_number
    return PaymentOrder(
        id=order_id,
        idempotency_key=key,
        request_hash=digest,
        kind=request.kind.value,
        direction=DIRECTION_OF[request.kind].value,
        channel=channel.name,
        account=request.account,
        amount=request.amount,
        currency=request.currency,
        party_account=number,
        party_account_index=crypto.blind_index(number, purpose=PARTY_INDEX),
        party_account_masked=mask_bank_card(number),
        party_name=request.party.account_name,
        party_name_masked=mask_name(request.party.account_name),
        authorisation_ref=request.authorisation_ref,
        event_type=request.event_type,
        event_id=request.event_id,
        memo=request.memo,
        status=OrderStatus.CREATED.value,
        business_date=day,
        completed_on=None,
        attempts=0,
        next_attempt_at=first_send_time(now, channel.cutoff, timezone),
        manual=False,
        created_at=now,
        updated_at=now,
    )


def first_send_time(now: dt.datetime, cutoff: str, timezone: str) -> dt.datetime:
    """Now, or after a channel's daily cut-off the start of the next local day (the channel
    would book it on the next trade date anyway, and reconciliation expects it there)."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = (int(part) for part in cutoff.split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return now
    tomorrow = (local + dt.timedelta(days=1)).date()
    start = dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=ZoneInfo(timezone))
    return start.astimezone(dt.UTC)


def _check_request(request: OrderIn, channel: PaymentChannel, account: Account | None) -> None:
    if request.kind == OrderKind.COLLECTION and not request.authorisation_ref:
        raise field_error(
            ValidationFailed, "authorisation_ref", "a collection needs a signed debit authorisation"
        )
    if request.currency != channel.currency:
        raise field_error(
            ValidationFailed,
            "currency",
            f"channel {channel.name} moves {channel.currency}, not {request.currency}",
        )
    if account is None:
        raise field_error(
            ValidationFailed, "account", f"no ledger account has code {request.account!r}"
        )
    if account.currency != request.currency:
        raise field_error(
            ValidationFailed, "account", f"account {account.code} is in {account.currency}"
        )
    if account.status != AccountStatus.OPEN:
        raise field_error(
            ValidationFailed, "account", f"account {account.code} is {account.status}"
        )
    if request.account in (channel.clearing_account, channel.settlement_account):
        raise field_error(
            ValidationFailed, "account", "must not be the channel's own clearing or bank account"
        )


def _check_order_limit(request: OrderIn, channel: PaymentChannel) -> None:
    if request.amount > channel.per_order_limit:
        raise field_error(
            LimitExceeded,
            "amount",
            f"above channel {channel.name}'s limit of {channel.per_order_limit} per order",
        )


def load(session: Session, order_id: uuid.UUID, *, lock: bool = False) -> PaymentOrder:
    stmt = select(PaymentOrder).where(PaymentOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt.execution_options(populate_existing=True))
    if order is None:
        raise OrderNotFound(f"no payment order has id {order_id}")
    return order


def channel_of(session: Session, order: PaymentOrder) -> PaymentChannel:
    channel = session.get(PaymentChannel, order.channel)
    assert channel is not None, "an order's channel is a foreign key"
    return channel


def to_out(order: PaymentOrder) -> OrderOut:
    return OrderOut(
        id=order.id,
        kind=order.kind,
        direction=order.direction,
        channel=order.channel,
        account=order.account,
        amount=order.amount,
        currency=order.currency,
        party_account=order.party_account_masked,
        party_name=order.party_name_masked,
        authorisation_ref=order.authorisation_ref,
        event_type=order.event_type,
        event_id=order.event_id,
        memo=order.memo,
        status=order.status,
        business_date=order.business_date,
        completed_on=order.completed_on,
        reversed_on=order.reversed_on,
        attempts=order.attempts,
        next_attempt_at=order.next_attempt_at,
        channel_ref=order.channel_ref,
        error_code=order.error_code,
        error_message=order.error_message,
        manual=order.manual,
        manual_reason=order.manual_reason,
        hold_id=order.hold_id,
        entry_id=order.entry_id,
        reversal_entry_id=order.reversal_entry_id,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def get_order(session: Session, order_id: uuid.UUID) -> OrderDetailOut:
    order = load(session, order_id)
    transitions = session.scalars(
        select(PaymentTransition)
        .where(PaymentTransition.order_id == order_id)
        .order_by(PaymentTransition.id)
    )
    attempts = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id)
        .order_by(PaymentAttempt.number)
    )
    notes = session.scalars(
        select(PaymentNote).where(PaymentNote.order_id == order_id).order_by(PaymentNote.id)
    )
    return OrderDetailOut(
        **to_out(order).model_dump(),
        transitions=[
            TransitionOut(
                from_status=t.from_status,
                to_status=t.to_status,
                reason=t.reason,
                actor=t.actor,
                at=t.at,
            )
            for t in transitions
        ],
        attempt_log=[
            AttemptOut(
                number=a.number,
                operation=a.operation,
                state=a.state,
                outcome=a.outcome,
                error_code=a.error_code,
                message=a.message,
                sent_at=a.sent_at,
                answered_at=a.answered_at,
            )
            for a in attempts
        ],
        notes=[NoteOut(action=n.action, note=n.note, actor=n.actor, at=n.at) for n in notes],
    )


def _encode_cursor(created_at: dt.datetime, order_id: uuid.UUID) -> str:
    raw = f"o:{created_at.isoformat()}|{order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, rest = raw.partition(":")
        stamp, _, ident = rest.partition("|")
        if prefix != "o":
            raise ValueError(cursor)
        at = dt.datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError(cursor)
        return at, uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued") from None


def list_orders(
    session: Session,
    *,
    status: OrderStatus | None = None,
    channel: str | None = None,
    manual: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> OrderPage:
    """Newest first."""
    stmt = select(PaymentOrder)
    if status is not None:
        stmt = stmt.where(PaymentOrder.status == status.value)
    if channel is not None:
        stmt = stmt.where(PaymentOrder.channel == channel)
    if manual is not None:
        stmt = stmt.where(PaymentOrder.manual.is_(manual))
    if cursor is not None:
        at, ident = _decode_cursor(cursor)
        stmt = stmt.where(
            (PaymentOrder.created_at < at)
            | ((PaymentOrder.created_at == at) & (PaymentOrder.id < ident))
        )
    rows = list(
        session.scalars(
            stmt.order_by(PaymentOrder.created_at.desc(), PaymentOrder.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return OrderPage(items=[to_out(o) for o in rows], next_cursor=next_cursor)
