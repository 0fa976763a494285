"""Payment routes under /v1/payments: orders, the manual queue, channels, callbacks and
settlement. Creating an order takes an ``Idempotency-Key``; callbacks are public and
authenticated by the channel's signature instead of a token."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lendbridge.identity import catalog
from lendbridge.kit import problems
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission
from lendbridge.payments import callbacks, channel_config, manual, orders, runtime, settlement
from lendbridge.payments.models import ChannelStatus, OrderStatus
from lendbridge.payments.schemas import (
    ChannelIn,
    ChannelOut,
    ManualIn,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderPage,
    SettleIn,
    SettlementOut,
)

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/payments",
    tags=["payments"],
    responses=problems.responses(400, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]
ChannelPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]

READ = permission("payments.read")
CREATE = permission("payments.orders.create")
MANUAL = permission("payments.manual")
CHANNELS = permission("payments.channels.manage")
SETTLE = permission("payments.settle")
PUBLIC = permission(catalog.PUBLIC)


@router.post("/orders", status_code=status.HTTP_201_CREATED, openapi_extra=CREATE)
def create_order(
    body: OrderIn, key: KeyDep, actor: ActorDep, session: SessionDep, response: Response
) -> OrderOut:
    """Create a payment order; it is sent to the channel by a background job after the
    commit. Repeating the request with the same key returns the first order (200)."""
    out, created = orders.create_order(
        session, body, idempotency_key=key, actor=actor, timezone=runtime.current().timezone
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/orders", openapi_extra=READ)
def list_orders(
    session: SessionDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    channel: Annotated[
        str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
    ] = None,
    manual_queue: Annotated[
        bool | None, Query(alias="manual", description="Only orders waiting for staff.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    return orders.list_orders(
        session,
        status=status_filter,
        channel=channel,
        manual=manual_queue,
        limit=limit,
        cursor=cursor,
    )


@router.get("/orders/{order_id}", openapi_extra=READ)
def get_order(order_id: uuid.UUID, session: SessionDep) -> OrderDetailOut:
    """An order with its transitions, attempts at the channel and staff notes."""
    return orders.get_order(session, order_id)


@router.post("/orders/{order_id}/manual", openapi_extra=MANUAL)
def act_on_manual(
    order_id: uuid.UUID, body: ManualIn, actor: ActorDep, request: Request
) -> OrderDetailOut:
    """Retry, cancel or resolve an order in the manual queue, with a note (audited)."""
    return manual.act(request.app.state.session_factory, order_id, body, actor)


@router.post("/callbacks/{channel}", openapi_extra=PUBLIC, responses=problems.responses(401))
async def channel_callback(channel: ChannelPath, request: Request) -> dict[str, Any]:
    """A channel's signed notification of an order's outcome. Replays and duplicates are
    acknowledged and change nothing."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    factory = request.app.state.session_factory

    def work() -> callbacks.CallbackResult:
        with factory() as session:
            try:
                result = callbacks.handle(session, channel, headers, body)
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise

    result = await run_in_threadpool(work)
    return {"status": "ok", "duplicate": result.duplicate, "effect": result.effect}


@router.get("/channels", openapi_extra=READ)
def list_channels(session: SessionDep) -> list[ChannelOut]:
    return channel_config.list_channels(session)


@router.get("/channels/{channel}", openapi_extra=READ)
def get_channel(channel: ChannelPath, session: SessionDep) -> ChannelOut:
    return channel_config.to_out(channel_config.get(session, channel))


@router.put("/channels/{channel}", openapi_extra=CHANNELS)
def save_channel(
    channel: ChannelPath, body: ChannelIn, actor: ActorDep, session: SessionDep
) -> ChannelOut:
    """Create or reconfigure a channel (audited). Its secret is never sent here: the
    configuration names the environment variable that holds it."""
    if body.name != channel:
        raise field_error(ValidationFailed, "name", "must equal the channel in the path")
    out = channel_config.save_channel(session, body, actor)
    session.commit()
    return out


@router.post("/channels/{channel}/disable", openapi_extra=CHANNELS)
def disable_channel(channel: ChannelPath, actor: ActorDep, session: SessionDep) -> ChannelOut:
    out = channel_config.set_status(session, channel, ChannelStatus.DISABLED, actor)
    session.commit()
    return out


@router.post("/channels/{channel}/enable", openapi_extra=CHANNELS)
def enable_channel(channel: ChannelPath, actor: ActorDep, session: SessionDep) -> ChannelOut:
    out = channel_config.set_status(session, channel, ChannelStatus.ACTIVE, actor)
    session.commit()
    return out


@router.post(
    "/channels/{channel}/settlements", status_code=status.HTTP_201_CREATED, openapi_extra=SETTLE
)
def settle(
    channel: ChannelPath, body: SettleIn, actor: ActorDep, session: SessionDep, response: Response
) -> SettlementOut:
    """Settle a business day of the channel (once; again returns the first settlement)."""
    out, created = settlement.settle(session, channel, body.business_date, actor)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/channels/{channel}/settlements", openapi_extra=READ)
def list_settlements(
    channel: ChannelPath,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[SettlementOut]:
    channel_config.get(session, channel)
    return settlement.list_settlements(session, channel, limit)
