"""Payment channels as data: configured through the API or the CLI, audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import NotFound, ValidationFailed, field_error
from lendbridge.ledger.models import Account
from lendbridge.payments.channels.base import ErrorClass
from lendbridge.payments.models import ChannelStatus, PaymentChannel
from lendbridge.payments.schemas import ChannelIn, ChannelOut

# What the simulated gateway's codes mean (a real channel's table is its own configuration).
DEFAULT_ERROR_CLASSES: dict[str, ErrorClass] = {
    "INSUFFICIENT_FUNDS": ErrorClass.FINAL,
    "CARD_FROZEN": ErrorClass.FINAL,
    "ACCOUNT_CLOSED": ErrorClass.FINAL,
    "INVALID_ACCOUNT": ErrorClass.FINAL,
    "DUPLICATE_ORDER": ErrorClass.FINAL,
    "SYSTEM_BUSY": ErrorClass.RETRYABLE,
    "TIMEOUT": ErrorClass.RETRYABLE,
}


class ChannelNotFound(NotFound):
    code = "payment_channel_not_found"


def to_out(channel: PaymentChannel) -> ChannelOut:
    return ChannelOut(
        name=channel.name,
        display_name=channel.display_name,
        adapter=channel.adapter,
        base_url=channel.base_url,
        merchant_id=channel.merchant_id,
        secret_env=channel.secret_env,
        currency=channel.currency,
        clearing_account=channel.clearing_account,
        settlement_account=channel.settlement_account,
        fee_account=channel.fee_account,
        per_order_limit=channel.per_order_limit,
        daily_limit=channel.daily_limit,
        cutoff=channel.cutoff,
        fee_fixed=channel.fee_fixed,
        fee_bps=channel.fee_bps,
        fee_max=channel.fee_max,
        max_attempts=channel.max_attempts,
        timeout_seconds=channel.timeout_seconds,
        error_classes={k: ErrorClass(v) for k, v in channel.error_classes.items()},
        statement_layout=dict(channel.statement_layout),
        status=channel.status,
    )


def _check_accounts(session: Session, request: ChannelIn) -> None:
    for field in ("clearing_account", "settlement_account", "fee_account"):
        code = getattr(request, field)
        account = session.scalar(select(Account).where(Account.code == code))
        if account is None:
            raise field_error(ValidationFailed, field, f"no ledger account has code {code!r}")
        if account.currency != request.currency and field != "fee_account":
            raise field_error(ValidationFailed, field, f"account {code} is in {account.currency}")
    if len({request.clearing_account, request.settlement_account, request.fee_account}) < 3:
        raise field_error(
            ValidationFailed, "fee_account", "clearing, settlement and fee accounts must differ"
        )


def save_channel(session: Session, request: ChannelIn, actor: Actor) -> ChannelOut:
    """Create the channel, or replace its configuration (a new version for the adapters)."""
    _check_accounts(session, request)
    now = clock.now()
    values = request.model_dump(mode="json")
    values["error_classes"] = {**DEFAULT_ERROR_CLASSES, **request.error_classes}
    channel = session.get(PaymentChannel, request.name, with_for_update=True)
    before = to_out(channel).model_dump(mode="json") if channel is not None else None
    if channel is None:
        channel = PaymentChannel(status=ChannelStatus.ACTIVE.value, created_at=now, **values)
        session.add(channel)
    else:
        for key, value in values.items():
            setattr(channel, key, value)
    channel.updated_at = now
    session.flush()
    out = to_out(channel)
    record(
        session,
        actor,
        action="payments.channel.saved",
        target_type="payment_channel",
        target_id=channel.name,
        before=before,
        after=out.model_dump(mode="json"),
    )
    return out


def set_status(session: Session, name: str, status: ChannelStatus, actor: Actor) -> ChannelOut:
    channel = get(session, name)
    before = channel.status
    channel.status = status.value
    channel.updated_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="payments.channel.status",
        target_type="payment_channel",
        target_id=name,
        before={"status": before},
        after={"status": status.value},
    )
    return to_out(channel)


def get(session: Session, name: str) -> PaymentChannel:
    channel = session.get(PaymentChannel, name)
    if channel is None:
        raise ChannelNotFound(f"no payment channel is named {name!r}")
    return channel


def list_channels(session: Session) -> list[ChannelOut]:
    return [
        to_out(c) for c in session.scalars(select(PaymentChannel).order_by(PaymentChannel.name))
    ]
