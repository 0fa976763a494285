"""The auditors' API: filters, keyset pagination, verification, anchors; bad input is a 422
problem naming the field. Built on an application of its own that mounts only the audit
router, so it does not depend on how the main application is assembled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lendbridge.audit.endpoints import router
from lendbridge.kit import calendar, clock, problems
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import make_session_factory, unit_of_work
from lendbridge.kit.http import RequestContextMiddleware
from tests.audit.factories import AUDITOR, CLERK, tamper, write

T0 = dt.datetime(2026, 1, 15, 1, 0, tzinfo=dt.UTC)


def audit_app(engine) -> FastAPI:
    app = FastAPI()
    app.state.session_factory = make_session_factory(engine)
    problems.install(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(router)
    return app


@pytest.fixture
def api(engine) -> Iterator[TestClient]:
    with TestClient(audit_app(engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def trail(engine, session_factory):
    """30 records a minute apart: 20 by the clerk on ledger entries (e0..e19; e3 twice),
    10 by the auditor exporting; the last 10 on the next business day."""
    minute = iter(range(1000))

    def ticking() -> dt.datetime:
        return T0 + dt.timedelta(minutes=next(minute))

    with clock.use_clock(ticking):
        write(session_factory, 20, per_transaction=4)
        with unit_of_work(session_factory) as session:
            calendar.set_business_date(session, dt.date(2026, 1, 16))
        write(
            session_factory,
            10,
            actor=AUDITOR,
            action="audit.records.export",
            target_type="audit",
            target_id="all",
            per_transaction=5,
        )
    return engine


def seqs(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["seq"] for item in response.json()["items"]]


def test_records_have_every_field(api, trail):
    body = api.get("/v1/audit/records", params={"limit": 1}).json()
    (item,) = body["items"]
    assert item["seq"] == 1
    assert item["actor_id"] == "user-1"
    assert item["actor_role"] == "clerk"
    assert item["client_address"] == "203.0.113.7"
    assert item["request_id"] == "req-1"
    assert item["device_id"] == "device-1"
    assert (item["action"], item["target_type"], item["target_id"]) == (
        "ledger.entry.post",
        "ledger.entry",
        "e0",
    )
    assert item["before"] == {"status": "draft"}
    assert item["after"] == {"i": 0, "status": "posted"}
    assert dt.datetime.fromisoformat(item["recorded_at"]) == T0
    assert item["business_date"] == "2026-01-15"
    assert len(item["hash"]) == 64
    assert body["next_cursor"]


def test_filters(api, trail):
    assert seqs(api.get("/v1/audit/records", params={"actor": "user-2"})) == list(range(21, 31))
    assert seqs(api.get("/v1/audit/records", params={"action": "ledger.entry.post"})) == list(
        range(1, 21)
    )
    target = {"target_type": "ledger.entry", "target_id": "e3"}
    assert seqs(api.get("/v1/audit/records", params=target)) == [4]
    assert seqs(api.get("/v1/audit/records", params={"target_type": "audit"})) == list(
        range(21, 31)
    )
    window = {"from": "2026-01-15T09:05:00+08:00", "to": "2026-01-15T01:08:00Z"}
    assert seqs(api.get("/v1/audit/records", params=window)) == [6, 7, 8]
    both = {"actor": "user-1", "from": "2026-01-15T01:18:00Z"}
    assert seqs(api.get("/v1/audit/records", params=both)) == [19, 20]
    assert seqs(api.get("/v1/audit/records", params={"actor": "nobody"})) == []


def test_keyset_pagination_both_ways(api, trail):
    seen, cursor = [], None
    while True:
        params = {"limit": 7, "actor": "user-1", **({"cursor": cursor} if cursor else {})}
        response = api.get("/v1/audit/records", params=params)
        seen += seqs(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 21))

    first = api.get("/v1/audit/records", params={"order": "desc", "limit": 4}).json()
    assert [i["seq"] for i in first["items"]] == [30, 29, 28, 27]
    second = api.get(
        "/v1/audit/records", params={"order": "desc", "limit": 4, "cursor": first["next_cursor"]}
    )
    assert seqs(second) == [26, 25, 24, 23]
    # A descending cursor cannot continue an ascending listing.
    mixed = api.get("/v1/audit/records", params={"cursor": first["next_cursor"]})
    assert mixed.status_code == 422
    assert mixed.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "YTotMQ"}, "cursor"),  # "a:-1"
        ({"from": "yesterday"}, "from"),
        ({"from": "0"}, "from"),
        ({"from": "2026-01-15T10:00:00"}, "from"),  # no offset: which 10 o'clock?
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"from": "2026-01-16T00:00:00Z", "to": "2026-01-15T00:00:00Z"}, "to"),
        ({"target_id": "e1"}, "target_id"),
        ({"target_type": "Ledger Entry"}, "target_type"),
        ({"action": "x" * 65}, "action"),
        ({"actor": "a\x00b"}, "actor"),
        ({"order": "sideways"}, "order"),
    ],
)
def test_bad_query_parameters_are_422_problems(api, trail, params, field):
    response = api.get("/v1/audit/records", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_failed"
    assert field in [e["field"] for e in body["errors"]]


def test_verify_endpoint(api, trail):
    body = api.get("/v1/audit/verify").json()
    assert (body["ok"], body["checked"], body["complete"], body["head_seq"]) == (True, 30, True, 30)
    part = api.get("/v1/audit/verify", params={"from_seq": 10, "limit": 5}).json()
    assert (part["ok"], part["from_seq"], part["to_seq"], part["complete"]) == (True, 10, 14, False)
    tamper(trail, "UPDATE audit_record SET actor_role = 'admin' WHERE seq = 12")
    broken = api.get("/v1/audit/verify").json()
    assert broken["ok"] is False
    assert broken["problem"]["seq"] == 12
    assert broken["problem"]["reason"] == "content_altered"
    for params, field in [({"limit": 0}, "limit"), ({"from_seq": 0}, "from_seq")]:
        response = api.get("/v1/audit/verify", params=params)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_anchor_endpoint(api, trail):
    one = api.get("/v1/audit/anchors", params={"day": "2026-01-15"}).json()["items"]
    assert [(a["business_date"], a["last_seq"]) for a in one] == [("2026-01-15", 20)]
    every = api.get("/v1/audit/anchors").json()["items"]
    assert [(a["business_date"], a["last_seq"]) for a in every] == [
        ("2026-01-15", 20),
        ("2026-01-16", 30),
    ]
    assert every[0] == one[0]
    later = api.get("/v1/audit/anchors", params={"from": "2026-01-16"}).json()["items"]
    assert [a["last_seq"] for a in later] == [30]
    for params, field in [
        ({"day": "15/01/2026"}, "day"),
        ({"day": "2026-01-15", "from": "2026-01-01"}, "day"),
        ({"from": "2026-01-16", "to": "2026-01-15"}, "to"),
        ({"limit": 1001}, "limit"),
    ]:
        response = api.get("/v1/audit/anchors", params=params)
        assert response.status_code == 422, params
        assert field in [e["field"] for e in response.json()["errors"]]


def test_every_route_declares_audit_read(engine):
    spec = audit_app(engine).openapi()
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert len(operations) == 3
    assert {op["x-permission"] for op in operations} == {"audit.read"}


def test_empty_trail(api):
    assert api.get("/v1/audit/records").json() == {"items": [], "next_cursor": None}
    assert api.get("/v1/audit/verify").json()["ok"] is True
    anchor = api.get("/v1/audit/anchors", params={"day": "2026-01-15"}).json()["items"][0]
    assert (anchor["last_seq"], anchor["hash"]) == (0, "0" * 64)


def test_unused_actor_fields_are_null(api, session_factory):
    with unit_of_work(session_factory) as session:
        from lendbridge.audit import service

        service.record(session, Actor(user_id=None), action="identity.register", target_type="t")
    (item,) = api.get("/v1/audit/records").json()["items"]
    assert [item[k] for k in ("actor_id", "actor_role", "client_address", "device_id")] == [
        None,
        None,
        None,
        None,
    ]
    assert CLERK.role == "clerk"
