"""Reconciliation over HTTP: importing a statement as a CSV body, the runs and the break
queue, resolving a break, an adjusting entry through /v1/approvals, the daily report,
permissions and problem documents for bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.payments.recon.endpoints import router as recon_router
from tests.identity import factories as f
from tests.payments.conftest import Payments
from tests.payments.test_recon_import import HEADER, add_order, line, statement

pytestmark = pytest.mark.usefixtures("payments")
CSV = {"Content-Type": "text/csv"}
BASE = "/v1/payments/recon"


@pytest.fixture
def app(engine: Engine, payments: Payments) -> FastAPI:
    application = create_app(
        Settings(database_url=str(engine.url), log_format="console"), engine=engine
    )
    paths = {getattr(route, "path", "") for route in application.routes}
    if f"{BASE}/{{channel}}/statements" not in paths:  # until app.py includes the router
        application.include_router(recon_router)
    return application


@pytest.fixture
def people(app: FastAPI, engine: Engine) -> Iterator[dict[str, TestClient]]:
    with Session(engine) as session:
        clients = {
            role: TestClient(
                app, raise_server_exceptions=False, headers=f.bearer(app, session, role)
            )
            for role in ("finance", "compliance_officer", "customer_service")
        }
        session.commit()
    clients["anonymous"] = TestClient(app, raise_server_exceptions=False)
    yield clients
    for client in clients.values():
        client.close()


def test_import_a_statement_then_the_same_file_again(payments: Payments, people) -> None:
    order = add_order(payments, 10_000)
    data = statement(
        line(order), line(amount=555, order_no="", channel_ref="SGX9", card="6222020000007777")
    )
    finance = people["finance"]
    created = finance.post(
        f"{BASE}/sim/statements?file_name=sim-2026-01-15.csv", content=data, headers=CSV
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["lines"], run["matched_lines"], run["breaks"]) == (2, 1, 1)
    assert run["breaks_by_kind"] == {"missing_on_platform": {"count": 1, "amount": 555}}
    assert run["file_name"] == "sim-2026-01-15.csv"
    again = finance.post(f"{BASE}/sim/statements", content=data, headers=CSV)
    assert again.status_code == 200
    assert again.json()["id"] == run["id"]
    assert finance.get(f"{BASE}/runs/{run['id']}").json() == run
    runs = finance.get(f"{BASE}/sim/runs").json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert runs["next_cursor"] is None


def test_import_refusals_are_problem_documents(people) -> None:
    finance = people["finance"]
    cases = [
        (
            finance.post(
                f"{BASE}/sim/statements",
                content=b"a,b\n1,2\n",
                headers={"Content-Type": "application/json"},
            ),
            415,
            "Content-Type",
        ),
        (finance.post(f"{BASE}/sim/statements", content=b"x\n"), 415, "Content-Type"),
        (finance.post(f"{BASE}/nope/statements", content=statement(), headers=CSV), 404, None),
        (
            finance.post(f"{BASE}/sim/statements", content=b"date,amount\n1,2\n", headers=CSV),
            422,
            "statement.line.1",
        ),
        (finance.post(f"{BASE}/sim/statements", content=statement(), headers=CSV), 422, "date"),
        (
            finance.post(
                f"{BASE}/sim/statements?date=15/01/2026", content=statement(), headers=CSV
            ),
            422,
            "date",
        ),
        (
            finance.post(
                f"{BASE}/sim/statements?amount_tolerance=-1", content=statement(), headers=CSV
            ),
            422,
            "amount_tolerance",
        ),
        (finance.post(f"{BASE}/Bad!/statements", content=statement(), headers=CSV), 422, "channel"),
        (
            finance.post(f"{BASE}/sim/statements", content=b"\xff\xfe\x00garbage", headers=CSV),
            422,
            None,
        ),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        if field is not None:
            assert body["errors"][0]["field"].startswith(field), body


def test_permissions(people) -> None:
    data = statement()
    assert (
        people["anonymous"]
        .post(f"{BASE}/sim/statements?date=2026-01-15", content=data, headers=CSV)
        .status_code
        == 401
    )
    refused = people["customer_service"].post(
        f"{BASE}/sim/statements?date=2026-01-15", content=data, headers=CSV
    )
    assert refused.status_code == 403
    assert people["customer_service"].get(f"{BASE}/sim/runs").status_code == 200  # payments.read
    assert people["compliance_officer"].get(f"{BASE}/sim/runs").status_code == 403
    denied = people["customer_service"].post(
        f"{BASE}/breaks/1/resolve", json={"resolution": "explain", "note": "x"}
    )
    assert denied.status_code == 403


def test_break_queue_resolution_and_report(payments: Payments, people) -> None:
    finance = people["finance"]
    orders = [add_order(payments, 1_000 * i) for i in range(1, 4)]
    data = statement(
        line(orders[0], amount=1_001),
        line(amount=42, order_no="", channel_ref="", card="6222020000004242"),
        "2026-01-15,SGBAD,,pay,1.001,CNY,SUCCESS,0,x,x",
    )
    run = finance.post(f"{BASE}/sim/statements", content=data, headers=CSV).json()
    assert run["breaks"] == 5  # amount, missing on platform, unreadable, 2 missing at channel
    page = finance.get(f"{BASE}/runs/{run['id']}/breaks?limit=2").json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = finance.get(
        f"{BASE}/runs/{run['id']}/breaks?limit=10&cursor={page['next_cursor']}"
    ).json()
    assert len(rest["items"]) == 3
    assert rest["next_cursor"] is None
    missing = finance.get(f"{BASE}/runs/{run['id']}/breaks?kind=missing_at_channel").json()["items"]
    assert sorted(b["order_id"] for b in missing) == sorted(str(o.id) for o in orders[1:])
    unreadable = finance.get(f"{BASE}/runs/{run['id']}/breaks?kind=unreadable_line").json()[
        "items"
    ][0]
    assert unreadable["line_no"] == 4

    explained = finance.post(
        f"{BASE}/breaks/{unreadable['id']}/resolve",
        json={"resolution": "explain", "note": "a test line of the channel"},
    )
    assert explained.status_code == 200, explained.text
    assert explained.json()["resolution"] == "explained"
    again = finance.post(
        f"{BASE}/breaks/{unreadable['id']}/resolve", json={"resolution": "explain", "note": "x"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "recon_break_resolved"
    queue = finance.get(f"{BASE}/sim/breaks").json()["items"]
    assert len(queue) == 4
    assert all(b["status"] == "open" for b in queue)
    assert len(finance.get(f"{BASE}/sim/breaks?status=resolved").json()["items"]) == 1

    mismatch = finance.get(f"{BASE}/runs/{run['id']}/breaks?kind=amount_mismatch").json()["items"][
        0
    ]
    requested = finance.post(
        "/v1/approvals",
        json={
            "action": "payments.recon.adjust",
            "payload": {"break_id": mismatch["id"]},
            "reason": "the channel paid one fen more",
        },
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["payload"]["amount"] == 1
    own = finance.post(f"/v1/approvals/{requested.json()['id']}/approve", json={"note": "mine"})
    assert own.status_code == 403
    approved = people["compliance_officer"].post(
        f"/v1/approvals/{requested.json()['id']}/approve", json={"note": "checked"}
    )
    assert approved.status_code == 200, approved.text
    adjusted = finance.get(f"{BASE}/breaks/{mismatch['id']}").json()
    assert (adjusted["status"], adjusted["resolution"]) == ("resolved", "adjusted")
    assert adjusted["entry_id"] == approved.json()["result"]["entry_id"]

    daily = finance.get(f"{BASE}/sim/report?date=2026-01-15")
    assert daily.status_code == 200, daily.text
    body = daily.json()
    assert body["runs"] == [run["id"]]
    assert body["breaks_by_kind"]["amount_mismatch"] == {"count": 1, "amount": 1, "open": 0}
    assert body["open_breaks"]["count"] == 3
    assert {a["bucket"]: a["count"] for a in body["ageing"]}["0-1"] == 3
    assert finance.get(f"{BASE}/sim/report").json()["date"] == "2026-01-15"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{BASE}/breaks/0", 422),
        (f"{BASE}/breaks/99999999999999999999", 422),
        (f"{BASE}/breaks/12345", 404),
        (f"{BASE}/runs/not-a-uuid", 422),
        (f"{BASE}/runs/01933b0e-0000-7000-8000-000000000000", 404),
        (f"{BASE}/runs/01933b0e-0000-7000-8000-000000000000/breaks", 404),
        (f"{BASE}/sim/breaks?cursor=garbage", 422),
        (f"{BASE}/sim/runs?cursor=garbage", 422),
        (f"{BASE}/sim/breaks?kind=nonsense", 422),
        (f"{BASE}/sim/report?date=2026-02-30", 422),
        (f"{BASE}/nope/report", 404),
        (f"{BASE}/nope/breaks", 404),
    ],
)
def test_reads_refuse_bad_input_with_problems(people, path: str, status: int) -> None:
    response = people["finance"].get(path)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status


def test_resolve_body_is_validated(people) -> None:
    finance = people["finance"]
    for body, field in (
        ({"resolution": "link", "note": "x"}, "order_id"),
        ({"resolution": "explain", "note": ""}, "note"),
        (
            {
                "resolution": "explain",
                "note": "x",
                "order_id": "01933b0e-0000-7000-8000-000000000000",
            },
            "order_id",
        ),
        ({"resolution": "shrug", "note": "x"}, "resolution"),
    ):
        response = finance.post(f"{BASE}/breaks/1/resolve", json=body)
        assert response.status_code == 422, response.text
        assert field in response.text


CSV_TEXT = st.text(
    alphabet=st.sampled_from(
        list('0123456789.,-:"\n\r ab冲正SUCCESSREVERSEDpaycollectCNY\x00\ufeff')
    ),
    max_size=300,
)


@given(
    body=st.one_of(
        st.binary(max_size=300),
        CSV_TEXT.map(lambda text: (HEADER + "\n" + text).encode()),
        st.lists(
            st.tuples(
                st.sampled_from(["2026-01-15", "2026-13-01", "", "20260115"]),
                st.text(max_size=70),
                st.sampled_from(["", "01933b0e-0000-7000-8000-000000000000", "x" * 80]),
                st.sampled_from(["pay", "collect", "?"]),
                st.sampled_from(["1.00", "92233720368547758.07", "0.001", "-1", "1e3", "9" * 30]),
                st.sampled_from(["CNY", "USD", "cny", ""]),
                st.sampled_from(["SUCCESS", "REVERSED", "FAILED"]),
            ),
            max_size=4,
        ).map(
            lambda rows: (
                HEADER
                + "\n"
                + "\n".join(
                    ",".join([*(f'"{c}"' for c in row), "0", "6222****0123", "x"]) for row in rows
                )
            ).encode()
        ),
    )
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_statement_body_is_a_server_error(people, body: bytes) -> None:
    response = people["finance"].post(
        f"{BASE}/sim/statements?date=2026-01-15", content=body, headers=CSV
    )
    assert response.status_code in (200, 201, 422), response.text
