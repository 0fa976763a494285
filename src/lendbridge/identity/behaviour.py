"""Behaviour flags raised by sign-in activity, stored as risk events for monitoring.

* ``new_device_failures`` — three failed sign-ins within an hour from a device the user has
  never signed in from successfully;
* ``shared_device`` — one device signed in to three or more different accounts within a day;
* ``impossible_travel`` — two successful sign-ins of one user from different regions less
  than an hour apart.

A flag is raised once per (kind, user, device or region pair) and hour, not on every attempt.
The region of a client address comes from a :class:`RegionResolver`: a table of networks;
the default one maps documented test networks (RFC 5737 / RFC 1918 ranges) so tests and the
demo work offline, and a deployment loads its own (e.g. from a GeoIP export).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.identity.models import LoginEvent, RiskEvent
from lendbridge.kit import outbox

RISK_EVENT_TOPIC = "identity.risk_event"
FAILURES_FROM_NEW_DEVICE = 3
ACCOUNTS_PER_DEVICE = 3
WINDOW = dt.timedelta(hours=1)
DEVICE_WINDOW = dt.timedelta(days=1)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RegionResolver:
    def __init__(self, table: Iterable[tuple[str, str]]) -> None:
        # Longest prefix first, so a specific network wins over the range that contains it.
        self._table: list[tuple[_Network, str]] = sorted(
            ((ipaddress.ip_network(net), region) for net, region in table),
            key=lambda item: item[0].prefixlen,
            reverse=True,
        )

    def region(self, address: str | None) -> str | None:
        if not address:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return next((region for net, region in self._table if ip in net), None)


DEVELOPMENT_REGIONS = RegionResolver(
    [
        ("10.11.0.0/16", "CN-BJ"),  # Beijing
        ("10.31.0.0/16", "CN-SH"),  # Shanghai
        ("10.44.0.0/16", "CN-GD"),  # Guangdong
        ("198.51.100.0/24", "US"),  # abroad (RFC 5737 TEST-NET-2)
        ("203.0.113.0/24", "SG"),  # abroad (RFC 5737 TEST-NET-3)
    ]
)


def evaluate(session: Session, event: LoginEvent) -> list[RiskEvent]:
    """Flags that ``event`` (already added to the session) raises."""
    raised: list[RiskEvent] = []
    success = event.outcome == "success"
    if event.user_id is not None and event.device_id and not success:
        raised += _new_device_failures(session, event)
    if event.device_id and success:
        raised += _shared_device(session, event)
    if event.user_id is not None and event.region and success:
        raised += _impossible_travel(session, event)
    for risk in raised:
        session.add(risk)
    session.flush()
    for risk in raised:  # monitoring learns of it after the commit, through the outbox
        outbox.publish(
            session,
            RISK_EVENT_TOPIC,
            {
                "id": risk.id,
                "kind": risk.kind,
                "user_id": str(risk.user_id) if risk.user_id else None,
                "at": risk.at.isoformat(),
                "details": risk.details,
            },
        )
    return raised


def _new_device_failures(session: Session, event: LoginEvent) -> list[RiskEvent]:
    known = session.scalar(
        select(LoginEvent.id).where(
            LoginEvent.user_id == event.user_id,
            LoginEvent.device_id == event.device_id,
            LoginEvent.outcome == "success",
        )
    )
    if known is not None:
        return []
    failures = session.scalar(
        select(func.count())
        .select_from(LoginEvent)
        .where(
            LoginEvent.user_id == event.user_id,
            LoginEvent.device_id == event.device_id,
            LoginEvent.outcome != "success",
            LoginEvent.at > event.at - WINDOW,
        )
    )
    if (failures or 0) < FAILURES_FROM_NEW_DEVICE:
        return []
    details = {"device": event.device_id, "failures": failures}
    return _once(session, "new_device_failures", event, details)


def _shared_device(session: Session, event: LoginEvent) -> list[RiskEvent]:
    users = session.scalar(
        select(func.count(func.distinct(LoginEvent.user_id))).where(
            LoginEvent.device_id == event.device_id,
            LoginEvent.outcome == "success",
            LoginEvent.at > event.at - DEVICE_WINDOW,
        )
    )
    if (users or 0) < ACCOUNTS_PER_DEVICE:
        return []
    details = {"device": event.device_id, "accounts": users}
    return _once(session, "shared_device", event, details, per_user=False)


def _impossible_travel(session: Session, event: LoginEvent) -> list[RiskEvent]:
    previous = session.scalar(
        select(LoginEvent)
        .where(
            LoginEvent.user_id == event.user_id,
            LoginEvent.outcome == "success",
            LoginEvent.region.is_not(None),
            LoginEvent.at > event.at - WINDOW,
            LoginEvent.id != event.id,
        )
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
        .limit(1)
    )
    if previous is None or previous.region == event.region:
        return []
    minutes = int((event.at - previous.at).total_seconds() // 60)
    details = {"from": previous.region, "to": event.region, "minutes": minutes}
    return _once(session, "impossible_travel", event, details)


def _once(
    session: Session,
    kind: str,
    event: LoginEvent,
    details: dict[str, Any],
    *,
    per_user: bool = True,
) -> list[RiskEvent]:
    """The flag, unless the same one (same user, same device or regions) was raised within
    the window. A device flag belongs to the device, not to one of its users."""
    user_id: uuid.UUID | None = event.user_id if per_user else None
    stmt = select(RiskEvent.details).where(RiskEvent.kind == kind, RiskEvent.at > event.at - WINDOW)
    stmt = stmt.where(RiskEvent.user_id == user_id if user_id else RiskEvent.user_id.is_(None))
    key = {k: v for k, v in details.items() if k in ("device", "from", "to")}
    if any({k: d.get(k) for k in key} == key for d in session.scalars(stmt)):
        return []
    return [RiskEvent(user_id=user_id, kind=kind, at=event.at, details=details)]
