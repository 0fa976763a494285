"""The simulated gateway's order protocol over real HTTP: authentication, idempotency,
completion, and every fault kind."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from lendbridge.payments.gateway.faults import Action
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.gateway.testkit import SignedClient, wait_until
from lendbridge.payments.gateway.testkit import sample_order_json as order_body

pytest_plugins = ["tests.payments.gateway_fixtures"]


def _state(client: SignedClient, order_no: str) -> dict[str, Any]:
    response = client.get(f"/v1/orders/{order_no}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_an_order_succeeds_in_the_answer(sim_gateway: RunningGateway, signed_client: SignedClient):
    response = signed_client.post_order(order_body("P1"))
    assert response.status_code == 200
    state = response.json()
    assert state["order_no"] == "P1"
    assert state["status"] == "succeeded"
    assert state["amount"] == 12_345
    assert state["error_code"] is None
    assert state["completed_at"].endswith("+08:00")  # the bank's local time, with its offset
    assert state["channel_ref"]
    assert _state(signed_client, "P1") == state
    assert sim_gateway.executions("P1") == 1


def test_a_repeated_order_answers_its_state_and_never_executes_again(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    first = signed_client.post_order(order_body("P1")).json()
    # The platform moved its callback address and re-sent: still the same payment.
    again = signed_client.post_order(
        order_body("P1", callback_url="http://127.0.0.1:9/x", memo="2")
    )
    assert again.status_code == 200
    assert again.json() == first
    assert sim_gateway.executions("P1") == 1
    stats = sim_gateway.stats()
    assert stats["executions"] == 1
    assert stats["duplicate_executions"] == {}
    assert stats["requests"]["repeated"] == 1


@pytest.mark.parametrize(
    "changes",
    [{"amount": 12_346}, {"account_number": "6222021234569999"}, {"direction": "collect"}],
)
def test_the_same_order_no_with_other_content_is_a_409(
    sim_gateway: RunningGateway, signed_client: SignedClient, changes: dict[str, Any]
) -> None:
    signed_client.post_order(order_body("P1"))
    response = signed_client.post_order(order_body("P1", **changes))
    assert response.status_code == 409
    assert response.json()["error_code"] == "DUPLICATE_ORDER"
    assert _state(signed_client, "P1")["amount"] == 12_345
    assert sim_gateway.executions("P1") == 1


def test_order_numbers_belong_to_their_merchant(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    other = SignedClient(
        sim_gateway.base_url, "M0002", sim_gateway.gateway.config.merchants["M0002"]
    )
    signed_client.post_order(order_body("P1"))
    assert other.get("/v1/orders/P1").status_code == 404
    assert other.post_order(order_body("P1", amount=1)).json()["status"] == "succeeded"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Signature": "0" * 64}, "SIGNATURE_INVALID"),
        ({"X-Signature": ""}, "SIGNATURE_INVALID"),
        ({"X-Timestamp": ""}, "SIGNATURE_INVALID"),
        ({"X-Timestamp": "1000000000"}, "TIMESTAMP_EXPIRED"),
        ({"X-Merchant-Id": "M9999"}, "UNKNOWN_MERCHANT"),
    ],
)
def test_unauthenticated_orders_are_refused_and_not_recorded(
    sim_gateway: RunningGateway,
    signed_client: SignedClient,
    headers: dict[str, str],
    code: str,
) -> None:
    response = signed_client.post_order(order_body("P1"), **headers)
    assert response.status_code == 401
    assert response.json()["error_code"] == code
    assert sim_gateway.order("P1") is None


def test_a_signature_from_another_secret_is_refused(sim_gateway: RunningGateway) -> None:
    forger = SignedClient(sim_gateway.base_url, sim_gateway.merchant_id, b"guessed")
    assert forger.post_order(order_body("P1")).status_code == 401
    assert forger.get("/v1/orders/P1").status_code == 401


def test_a_query_signature_cannot_be_replayed_for_another_order(
    signed_client: SignedClient,
) -> None:
    signed_client.post_order(order_body("P2"))
    headers = signed_client.headers("GET", "/v1/orders/P1", b"")
    response = signed_client.http.get("/v1/orders/P2", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps(order_body("P1", amount=12.5)).encode(),
        json.dumps(order_body("P1", amount=True)).encode(),
        json.dumps(order_body("P1", amount=0)).encode(),
        json.dumps(order_body("P1", amount=-5)).encode(),
        json.dumps(order_body("P1", amount=2**63)).encode(),
        json.dumps(order_body("P1", amount="100")).encode(),
        json.dumps(order_body("P1", currency="cny")).encode(),
        json.dumps(order_body("P1", direction="refund")).encode(),
        json.dumps(order_body("P 1")).encode(),
        json.dumps(order_body("P1", callback_url="ftp://x")).encode(),
        json.dumps(order_body("P1", extra=1)).encode(),
        json.dumps({"order_no": "P1"}).encode(),
    ],
)
def test_malformed_orders_are_400_and_not_recorded(
    sim_gateway: RunningGateway, signed_client: SignedClient, body: bytes
) -> None:
    response = signed_client.post_order(body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_REQUEST"
    assert sim_gateway.stats()["orders"] == 0


def test_an_oversized_body_is_refused(signed_client: SignedClient) -> None:
    response = signed_client.post_order(order_body("P1", memo="x" * 20_000))
    assert response.status_code == 413


def test_a_malformed_account_number_fails_the_order_for_good(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    state = signed_client.post_order(order_body("P1", account_number="6222-0212")).json()
    assert state["status"] == "failed"
    assert state["error_code"] == "INVALID_ACCOUNT"
    assert sim_gateway.executions("P1") == 0


def test_an_unknown_order_is_404(signed_client: SignedClient) -> None:
    response = signed_client.get("/v1/orders/NOPE")
    assert response.status_code == 404
    assert response.json()["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize("code", ["INSUFFICIENT_FUNDS", "CARD_FROZEN", "ACCOUNT_CLOSED"])
def test_final_failures_by_rate(
    sim_gateway: RunningGateway, signed_client: SignedClient, code: str
) -> None:
    sim_gateway.set_faults(failure_rates={code: 1.0})
    state = signed_client.post_order(order_body("P1")).json()
    assert (state["status"], state["error_code"]) == ("failed", code)
    assert state["message"]
    assert sim_gateway.executions("P1") == 0
    # Final: sending it again answers the same failure, it is not tried again.
    assert signed_client.post_order(order_body("P1")).json() == state


def test_failures_forced_per_account(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(by_account={"6222000011112222": Action.CARD_FROZEN})
    frozen = signed_client.post_order(order_body("P1", account_number="6222000011112222"))
    assert frozen.json()["error_code"] == "CARD_FROZEN"
    assert signed_client.post_order(order_body("P2")).json()["status"] == "succeeded"


def test_asynchronous_orders_answer_processing_then_complete(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(async_rate=1.0, async_delay_ms=(20, 60))
    assert signed_client.post_order(order_body("P1")).json()["status"] == "processing"
    wait_until(lambda: _state(signed_client, "P1")["status"] == "succeeded", message="success")
    assert sim_gateway.executions("P1") == 1


def test_a_held_order_stays_processing_until_completed(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.HOLD], "P2": [Action.HOLD]})
    assert signed_client.post_order(order_body("P1")).json()["status"] == "processing"
    signed_client.post_order(order_body("P2"))
    assert sim_gateway.complete("P1", "INSUFFICIENT_FUNDS")
    assert not sim_gateway.complete("P1")  # only once
    assert _state(signed_client, "P1")["error_code"] == "INSUFFICIENT_FUNDS"
    admin = httpx.post(f"{sim_gateway.base_url}/admin/orders/P2/complete", json={})
    assert admin.json()["status"] == "succeeded"
    assert sim_gateway.executions("P2") == 1


def test_system_busy_is_not_recorded_and_a_retry_executes_once(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.SYSTEM_BUSY, Action.SYSTEM_BUSY]})
    for _ in range(2):
        busy = signed_client.post_order(order_body("P1"))
        assert busy.status_code == 503
        assert busy.json()["error_code"] == "SYSTEM_BUSY"
        assert signed_client.get("/v1/orders/P1").status_code == 404
    assert signed_client.post_order(order_body("P1")).json()["status"] == "succeeded"
    assert signed_client.post_order(order_body("P1")).json()["status"] == "succeeded"
    assert sim_gateway.executions("P1") == 1


def test_system_busy_applies_to_queries_unless_switched_off(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    signed_client.post_order(order_body("P1"))
    sim_gateway.set_faults(system_busy_rate=1.0)
    assert signed_client.post_order(order_body("P2")).status_code == 503
    assert signed_client.get("/v1/orders/P1").status_code == 503
    sim_gateway.set_faults(faults_on_queries=False)
    assert signed_client.get("/v1/orders/P1").status_code == 200


def test_a_busy_burst_refuses_everything_while_it_lasts(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(busy_burst={"every_ms": 1000, "length_ms": 1000, "rate": 1.0})
    assert signed_client.post_order(order_body("P1")).status_code == 503
    sim_gateway.set_faults(busy_burst=None)
    assert signed_client.post_order(order_body("P1")).status_code == 200


def test_a_timeout_records_and_executes_but_the_answer_comes_too_late(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(timeout_rate=1.0, timeout_mode="delay", timeout_delay_ms=60_000)
    with pytest.raises(httpx.ReadTimeout):
        signed_client.http.post(
            "/v1/orders",
            content=(body := json.dumps(order_body("P1")).encode()),
            headers=signed_client.headers("POST", "/v1/orders", body),
            timeout=0.5,
        )
    wait_until(lambda: sim_gateway.order("P1"), message="the order, however slow the machine")
    assert _state(signed_client, "P1")["status"] == "succeeded"
    sim_gateway.set_faults(timeout_rate=0.0)
    assert signed_client.post_order(order_body("P1")).json()["status"] == "succeeded"
    assert sim_gateway.executions("P1") == 1
    assert sim_gateway.stats()["requests"]["timeout"] == 1


def test_a_dropped_connection_after_execution(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.TIMEOUT]}, timeout_mode="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        signed_client.post_order(order_body("P1"))
    assert _state(signed_client, "P1")["status"] == "succeeded"
    assert sim_gateway.executions("P1") == 1


@pytest.mark.parametrize(
    ("mode", "error"), [("drop", httpx.RemoteProtocolError), ("delay", httpx.ReadTimeout)]
)
def test_a_lost_request_is_never_recorded(
    sim_gateway: RunningGateway,
    signed_client: SignedClient,
    mode: str,
    error: type[Exception],
) -> None:
    sim_gateway.set_faults(lost_rate=1.0, timeout_mode=mode, timeout_delay_ms=60_000)
    body = json.dumps(order_body("P1")).encode()
    with pytest.raises(error):
        signed_client.http.post(
            "/v1/orders",
            content=body,
            headers=signed_client.headers("POST", "/v1/orders", body),
            timeout=0.5,
        )
    # The gateway has decided (lost) before the faults change, however slow the machine.
    wait_until(lambda: sim_gateway.stats()["requests"].get("lost") == 1)
    sim_gateway.set_faults(lost_rate=0.0)
    assert signed_client.get("/v1/orders/P1").status_code == 404
    assert signed_client.post_order(order_body("P1")).json()["status"] == "succeeded"
    assert sim_gateway.executions("P1") == 1


def test_latency_holds_the_answer(sim_gateway: RunningGateway, signed_client: SignedClient):
    sim_gateway.set_faults(latency_ms=200, jitter_ms=50)
    started = time.monotonic()
    assert signed_client.post_order(order_body("P1")).status_code == 200
    assert time.monotonic() - started >= 0.2  # a lower bound only: never flaky when slow


def test_a_reversal_follows_a_success(sim_gateway: RunningGateway, signed_client: SignedClient):
    sim_gateway.set_faults(reversal_rate=1.0, reversal_delay_ms=(10, 30))
    first = signed_client.post_order(order_body("P1")).json()
    assert first["status"] == "succeeded"
    wait_until(lambda: _state(signed_client, "P1")["status"] == "reversed", message="reversal")
    state = _state(signed_client, "P1")
    assert state["completed_at"] == first["completed_at"]
    assert state["reversed_at"] is not None
    assert sim_gateway.executions("P1") == 1
    assert sim_gateway.stats()["by_status"]["reversed"] == 1


def test_operators_can_reverse_a_succeeded_order(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    signed_client.post_order(order_body("P1"))
    sim_gateway.set_faults(failure_rates={"INSUFFICIENT_FUNDS": 1.0})
    signed_client.post_order(order_body("P2"))
    admin = f"{sim_gateway.base_url}/admin/orders"
    assert httpx.post(f"{admin}/P1/reverse").json()["status"] == "reversed"
    assert httpx.post(f"{admin}/P1/reverse").status_code == 409
    assert httpx.post(f"{admin}/P2/reverse").status_code == 409
    assert httpx.post(f"{admin}/NOPE/reverse").status_code == 404


def _outcomes(client: SignedClient, count: int) -> list[tuple[int, str | None]]:
    answers = []
    for index in range(count):
        response = client.post_order(order_body(f"R{index}"))
        answers.append((response.status_code, response.json().get("error_code")))
    return answers


def test_rates_are_honoured_and_reproducible_under_the_same_seed(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    faults = {
        "failure_rates": {"INSUFFICIENT_FUNDS": 0.2, "ACCOUNT_CLOSED": 0.1},
        "system_busy_rate": 0.2,
    }
    sim_gateway.set_faults(**faults)
    first = _outcomes(signed_client, 150)
    counts = {code: sum(1 for _, c in first if c == code) for code in ("SYSTEM_BUSY", None)}
    assert 10 <= counts["SYSTEM_BUSY"] <= 55  # 30 expected
    assert 40 <= counts[None] <= 110  # 150 * 0.8 * 0.7 = 84 expected
    sim_gateway.reset()
    sim_gateway.set_faults(**faults)
    assert _outcomes(signed_client, 150) == first
    sim_gateway.reset(seed=1)
    sim_gateway.set_faults(**faults)
    assert _outcomes(signed_client, 150) != first


def test_stats_count_what_happened(sim_gateway: RunningGateway, signed_client: SignedClient):
    signed_client.post_order(order_body("P1"))
    signed_client.post_order(order_body("P1"))
    sim_gateway.set_faults(failure_rates={"CARD_FROZEN": 1.0})
    signed_client.post_order(order_body("P2"))
    stats = httpx.get(f"{sim_gateway.base_url}/admin/stats").json()
    assert stats["orders"] == 2
    assert stats["by_status"] == {"processing": 0, "succeeded": 1, "failed": 1, "reversed": 0}
    assert stats["executions"] == 1
    assert stats["duplicate_executions"] == {}
    assert stats["requests"] == {"accepted": 2, "repeated": 1}
