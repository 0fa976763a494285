"""Sign-in behaviour flags become risk events: failures from a new device, one device used by
many accounts, impossible travel between regions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.identity import signin
from lendbridge.identity.behaviour import DEVELOPMENT_REGIONS, RegionResolver
from lendbridge.identity.models import LoginEvent, RiskEvent
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.tokens import TokenSigner
from lendbridge.kit.actor import Actor
from lendbridge.kit.outbox import OutboxMessage
from tests.identity import factories as f


@pytest.fixture
def policy() -> signin.Policy:
    signer = TokenSigner(b"x" * 32, access_ttl=dt.timedelta(minutes=10))
    return signin.Policy(signer=signer, limiter=RateLimiter.from_url(None), max_failures=50)


def attempt(session, policy, username, password, *, device, address="10.11.0.7"):
    origin = Actor(user_id=None, client_address=address, device_id=device)
    result = signin.sign_in_staff(
        session, policy, username=username, password=password, totp_code=None, origin=origin
    )
    session.commit()
    return result


def risks(session: Session) -> list[tuple[str, dict]]:
    return [(r.kind, r.details) for r in session.scalars(select(RiskEvent).order_by(RiskEvent.id))]


def test_failures_from_a_new_device_are_flagged_once(engine: Engine, policy, time):
    with Session(engine) as session:
        f.staff(session, "finance", username="mei")
        session.commit()
        attempt(session, policy, "mei", f.PASSWORD, device="known-phone")
        for _ in range(2):
            attempt(session, policy, "mei", "wrong password!", device="stranger")
        assert risks(session) == []
        for _ in range(3):
            attempt(session, policy, "mei", "wrong password!", device="stranger")
        assert risks(session) == [("new_device_failures", {"device": "stranger", "failures": 3})]
        # Monitoring hears of it after the commit, through the outbox.
        (message,) = session.scalars(select(OutboxMessage)).all()
        assert message.topic == "identity.risk_event"
        assert message.payload["kind"] == "new_device_failures"
        # Failures from the device she normally uses are not this flag.
        for _ in range(3):
            attempt(session, policy, "mei", "wrong password!", device="known-phone")
        assert len(risks(session)) == 1


def test_one_device_signing_in_to_many_accounts(engine: Engine, policy, time):
    with Session(engine) as session:
        for name in ("a.one", "b.two", "c.three"):
            f.staff(session, "finance", username=name)
        session.commit()
        attempt(session, policy, "a.one", f.PASSWORD, device="farm-01")
        attempt(session, policy, "b.two", f.PASSWORD, device="farm-01")
        assert risks(session) == []
        attempt(session, policy, "c.three", f.PASSWORD, device="farm-01")
        assert risks(session) == [("shared_device", {"device": "farm-01", "accounts": 3})]


def test_impossible_travel_between_regions(engine: Engine, policy, time):
    with Session(engine) as session:
        f.staff(session, "finance", username="mei")
        session.commit()
        attempt(session, policy, "mei", f.PASSWORD, device="d1", address="10.11.3.4")  # CN-BJ
        time.now += dt.timedelta(minutes=20)
        attempt(session, policy, "mei", f.PASSWORD, device="d1", address="198.51.100.9")  # US
        assert risks(session) == [
            ("impossible_travel", {"from": "CN-BJ", "to": "US", "minutes": 20})
        ]
        time.now += dt.timedelta(hours=3)
        attempt(session, policy, "mei", f.PASSWORD, device="d1", address="10.31.0.1")  # CN-SH
        assert len(risks(session)) == 1  # three hours later: travel is possible
        regions = session.scalars(select(LoginEvent.region).order_by(LoginEvent.id)).all()
        assert regions == ["CN-BJ", "US", "CN-SH"]


def test_region_resolver_prefers_the_most_specific_network():
    resolver = RegionResolver([("10.0.0.0/8", "CN"), ("10.11.0.0/16", "CN-BJ")])
    assert resolver.region("10.11.9.9") == "CN-BJ"
    assert resolver.region("10.200.0.1") == "CN"
    assert resolver.region("192.0.2.1") is None
    assert resolver.region("not an address") is None
    assert DEVELOPMENT_REGIONS.region(None) is None
    assert dataclasses.is_dataclass(signin.Policy)
