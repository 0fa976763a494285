"""The platform's adapter against a real simulated gateway on loopback: every transport and
protocol outcome maps to an Outcome, nothing raises; callbacks are verified strictly."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lendbridge.payments.channels.base import CallbackRejected, ErrorClass, Outcome
from lendbridge.payments.channels.simulated import SimulatedGatewayAdapter, StatementUnavailable
from lendbridge.payments.channels.statement_csv import StatementLine, parse_statement
from lendbridge.payments.gateway.faults import Action
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.gateway.testkit import CallbackReceiver, sample_order, wait_until
from lendbridge.payments.signing import request_payload, signed_headers, verify

pytest_plugins = ["tests.payments.gateway_fixtures"]

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def _adapter(gateway: RunningGateway, **options: Any) -> SimulatedGatewayAdapter:
    values: dict[str, Any] = {
        "name": "sim",
        "base_url": gateway.base_url,
        "merchant_id": gateway.merchant_id,
        "secret": gateway.secret,
        "timeout": 20.0,
    }
    values.update(options)
    return SimulatedGatewayAdapter(**values)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- submit --------------------------------------------------------------------------------


def test_a_submitted_order_succeeds(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    answer = sim_adapter.submit(sample_order("P1"))
    assert answer.outcome is Outcome.SUCCEEDED
    assert answer.order_no == "P1"
    assert answer.amount == 12_345
    assert answer.channel_ref == sim_gateway.order("P1").channel_ref  # type: ignore[union-attr]
    assert answer.completed_at is not None
    assert answer.completed_at.utcoffset() == dt.timedelta(hours=8)
    assert answer.raw["status"] == "succeeded"
    again = sim_adapter.submit(sample_order("P1"))
    assert again.outcome is Outcome.SUCCEEDED
    assert sim_gateway.executions("P1") == 1


def test_a_final_failure(sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter):
    sim_gateway.set_faults(failure_rates={"INSUFFICIENT_FUNDS": 1.0})
    answer = sim_adapter.submit(sample_order("P1"))
    assert (answer.outcome, answer.error_code) == (Outcome.FAILED, "INSUFFICIENT_FUNDS")
    assert answer.message == "余额不足"
    assert sim_adapter.classify("INSUFFICIENT_FUNDS") is ErrorClass.FINAL


def test_system_busy_is_a_retryable_failure(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.SYSTEM_BUSY]})
    busy = sim_adapter.submit(sample_order("P1"))
    assert (busy.outcome, busy.error_code) == (Outcome.FAILED, "SYSTEM_BUSY")
    assert busy.raw["http_status"] == 503
    assert sim_adapter.classify("SYSTEM_BUSY") is ErrorClass.RETRYABLE
    assert sim_adapter.query("P1").outcome is Outcome.NOT_FOUND
    assert sim_adapter.submit(sample_order("P1")).outcome is Outcome.SUCCEEDED


def test_an_asynchronous_order_is_processing_then_queried(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.HOLD]})
    assert sim_adapter.submit(sample_order("P1")).outcome is Outcome.PROCESSING
    assert sim_adapter.query("P1").outcome is Outcome.PROCESSING
    sim_gateway.complete("P1", "CARD_FROZEN")
    failed = sim_adapter.query("P1")
    assert (failed.outcome, failed.error_code) == (Outcome.FAILED, "CARD_FROZEN")


def test_a_timeout_is_unknown_and_the_query_tells_the_truth(sim_gateway: RunningGateway):
    sim_gateway.set_faults(by_order={"P1": [Action.TIMEOUT]}, timeout_delay_ms=60_000)
    with _adapter(sim_gateway, timeout=0.5) as adapter:
        answer = adapter.submit(sample_order("P1"))
        assert (answer.outcome, answer.error_code) == (Outcome.UNKNOWN, "TIMEOUT")
        wait_until(lambda: sim_gateway.order("P1"), message="the order, however slow the machine")
        assert adapter.query("P1").outcome is Outcome.SUCCEEDED
    assert sim_gateway.executions("P1") == 1


def test_a_dropped_connection_is_unknown(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.TIMEOUT]}, timeout_mode="drop")
    answer = sim_adapter.submit(sample_order("P1"))
    assert (answer.outcome, answer.error_code) == (Outcome.UNKNOWN, "CONNECTION_ERROR")
    assert sim_adapter.query("P1").outcome is Outcome.SUCCEEDED


def test_a_lost_request_is_unknown_then_not_found(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.LOST]}, timeout_mode="drop")
    assert sim_adapter.submit(sample_order("P1")).outcome is Outcome.UNKNOWN
    assert sim_adapter.query("P1").outcome is Outcome.NOT_FOUND
    assert sim_adapter.submit(sample_order("P1")).outcome is Outcome.SUCCEEDED
    assert sim_gateway.executions("P1") == 1


def test_an_unreachable_gateway_is_unknown_for_submit_and_query() -> None:
    adapter = SimulatedGatewayAdapter(
        "sim", f"http://127.0.0.1:{_free_port()}", "M1", b"s", timeout=5.0
    )
    with adapter:
        assert adapter.submit(sample_order("P1")).outcome is Outcome.UNKNOWN
        assert adapter.query("P1").outcome is Outcome.UNKNOWN


def test_a_slow_or_busy_query_is_unknown(sim_gateway: RunningGateway) -> None:
    with _adapter(sim_gateway, timeout=0.3) as adapter:
        adapter.submit(sample_order("P1"))
        sim_gateway.set_faults(latency_ms=5_000)
        slow = adapter.query("P1")
        assert (slow.outcome, slow.error_code) == (Outcome.UNKNOWN, "TIMEOUT")
        sim_gateway.set_faults(latency_ms=0, system_busy_rate=1.0)
        busy = adapter.query("P1")
        assert (busy.outcome, busy.error_code) == (Outcome.UNKNOWN, "SYSTEM_BUSY")


def test_a_reversed_order_queries_as_reversed(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_adapter.submit(sample_order("P1"))
    sim_gateway.reverse("P1")
    assert sim_adapter.query("P1").outcome is Outcome.REVERSED


def test_other_content_under_the_same_order_no_is_a_final_duplicate(
    sim_adapter: SimulatedGatewayAdapter,
) -> None:
    sim_adapter.submit(sample_order("P1"))
    answer = sim_adapter.submit(sample_order("P1", amount=1))
    assert (answer.outcome, answer.error_code) == (Outcome.FAILED, "DUPLICATE_ORDER")
    assert sim_adapter.classify("DUPLICATE_ORDER") is ErrorClass.FINAL


def test_a_wrong_secret_is_a_retryable_failure_and_nothing_is_recorded(
    sim_gateway: RunningGateway,
) -> None:
    with _adapter(sim_gateway, secret=b"rotated") as adapter:
        answer = adapter.submit(sample_order("P1"))
        assert (answer.outcome, answer.error_code) == (Outcome.FAILED, "SIGNATURE_INVALID")
        assert adapter.classify("SIGNATURE_INVALID") is ErrorClass.RETRYABLE
        # A query the gateway refuses says nothing about the order.
        assert adapter.query("P1").outcome is Outcome.UNKNOWN
    assert sim_gateway.order("P1") is None


def test_a_base_url_with_a_path_prefix_is_signed_with_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error_code": "NOT_FOUND"})

    adapter = SimulatedGatewayAdapter(
        "sim", "http://bank.test/gw/", "M1", b"s", transport=httpx.MockTransport(handler)
    )
    assert adapter.query("P 1").outcome is Outcome.NOT_FOUND
    (request,) = seen
    assert request.url.raw_path == b"/gw/v1/orders/P%201"
    verify(  # over the decoded path, which is what the gateway routes on
        b"s",
        request.headers["X-Timestamp"],
        request.headers["X-Signature"],
        request_payload("GET", "/gw/v1/orders/P 1", b""),
        dt.datetime.now(dt.UTC),
    )


def _mocked(respond: Callable[[httpx.Request], httpx.Response]) -> SimulatedGatewayAdapter:
    return SimulatedGatewayAdapter(
        "sim", "http://bank.test", "M1", b"s", transport=httpx.MockTransport(respond)
    )


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b"<html>ok</html>", Outcome.UNKNOWN),  # a 2xx we cannot read
        (200, json.dumps({"order_no": "OTHER", "status": "succeeded"}).encode(), Outcome.UNKNOWN),
        (200, json.dumps({"order_no": "P1", "status": "done"}).encode(), Outcome.UNKNOWN),
        (200, json.dumps({"order_no": "P1", "status": "failed"}).encode(), Outcome.UNKNOWN),
        (500, b"oops", Outcome.UNKNOWN),  # may or may not have been recorded
        (502, b"", Outcome.UNKNOWN),
        (429, b"", Outcome.FAILED),
        (400, json.dumps({"error_code": "INVALID_REQUEST"}).encode(), Outcome.FAILED),
        (404, b"", Outcome.UNKNOWN),  # a submit answered 404 is not an answer about the order
    ],
)
def test_odd_answers_to_a_submit(status: int, body: bytes, outcome: Outcome) -> None:
    adapter = _mocked(lambda request: httpx.Response(status, content=body))
    assert adapter.submit(sample_order("P1")).outcome is outcome


def test_error_classes_default_override_and_fall_back() -> None:
    adapter = SimulatedGatewayAdapter(
        "sim",
        "http://bank.test",
        "M1",
        b"s",
        error_classes={"CARD_FROZEN": ErrorClass.RETRYABLE, "LIMIT": ErrorClass.FINAL},
    )
    assert adapter.classify("CARD_FROZEN") is ErrorClass.RETRYABLE
    assert adapter.classify("LIMIT") is ErrorClass.FINAL
    assert adapter.classify("ACCOUNT_CLOSED") is ErrorClass.FINAL
    assert adapter.classify("TIMEOUT") is ErrorClass.RETRYABLE
    assert adapter.classify("SOMETHING_NEW") is ErrorClass.RETRYABLE
    strict = SimulatedGatewayAdapter(
        "sim", "http://bank.test", "M1", b"s", unknown_error_class=ErrorClass.FINAL
    )
    assert strict.classify("SOMETHING_NEW") is ErrorClass.FINAL


def test_the_adapter_is_shared_by_threads(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    sim_gateway.set_faults(system_busy_rate=0.2, async_rate=0.2, async_delay_ms=(1, 5))
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        for index in range(25):
            outcome = sim_adapter.submit(sample_order(f"T{thread}-{index}")).outcome
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 200
    assert set(outcomes) <= {Outcome.SUCCEEDED, Outcome.PROCESSING, Outcome.FAILED}
    wait_until(lambda: sim_gateway.stats()["by_status"]["processing"] == 0)
    stats = sim_gateway.stats()
    assert stats["duplicate_executions"] == {}
    assert stats["executions"] == outcomes.count(Outcome.SUCCEEDED) + outcomes.count(
        Outcome.PROCESSING
    )


# -- callbacks -----------------------------------------------------------------------------


def _callback(body: dict[str, Any] | bytes, secret: bytes = b"s", at: dt.datetime = NOW):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return signed_headers(secret, raw, at, "M1"), raw


GOOD = {
    "order_no": "P1",
    "channel_ref": "SG1",
    "status": "succeeded",
    "error_code": None,
    "amount": 100,
    "currency": "CNY",
    "completed_at": "2026-01-15T17:00:00.000+08:00",
}


def test_a_good_callback_parses() -> None:
    adapter = _mocked(lambda request: httpx.Response(500))
    headers, body = _callback(GOOD)
    lowered = {name.lower(): value for name, value in headers.items()}  # as servers give them
    answer = adapter.parse_callback(lowered, body, NOW + dt.timedelta(seconds=30))
    assert (answer.order_no, answer.outcome, answer.amount) == ("P1", Outcome.SUCCEEDED, 100)
    assert answer.completed_at == dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
    assert answer.channel_ref == "SG1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _callback(GOOD, secret=b"forged"), "bad_signature"),
        (lambda: (_callback(GOOD)[0], json.dumps({**GOOD, "amount": 1}).encode()), "bad_signature"),
        (lambda: ({}, json.dumps(GOOD).encode()), "missing_header"),
        (lambda: _callback(GOOD, at=NOW - dt.timedelta(seconds=301)), "stale_timestamp"),
        (lambda: _callback(GOOD, at=NOW + dt.timedelta(hours=1)), "stale_timestamp"),
        (lambda: _callback(b"not json"), "malformed"),
        (lambda: _callback(b"[]"), "malformed"),
        (lambda: _callback({**GOOD, "amount": "100"}), "malformed"),
        (lambda: _callback({**GOOD, "amount": True}), "malformed"),
        (lambda: _callback({**GOOD, "status": "done"}), "malformed"),
        (lambda: _callback({**GOOD, "order_no": ""}), "malformed"),
        (lambda: _callback({**GOOD, "completed_at": "2026-01-15T17:00:00"}), "malformed"),
        (lambda: _callback({**GOOD, "completed_at": "yesterday"}), "malformed"),
        (lambda: _callback({**GOOD, "completed_at": None}), "malformed"),
        (lambda: _callback({**GOOD, "status": "failed"}), "malformed"),  # no error_code
        (lambda: _callback({**GOOD, "error_code": 5}), "malformed"),
    ],
)
def test_bad_callbacks_are_rejected(
    make: Callable[[], tuple[dict[str, str], bytes]], reason: str
) -> None:
    adapter = _mocked(lambda request: httpx.Response(500))
    headers, body = make()
    with pytest.raises(CallbackRejected) as rejected:
        adapter.parse_callback(headers, body, NOW)
    assert rejected.value.reason.startswith(reason)


def test_a_callback_for_another_merchant_is_rejected() -> None:
    adapter = _mocked(lambda request: httpx.Response(500))
    headers, body = _callback(GOOD)
    headers["X-Merchant-Id"] = "M2"
    with pytest.raises(CallbackRejected):
        adapter.parse_callback(headers, body, NOW)


def test_real_callbacks_verify_including_duplicates_and_stale_ones(
    sim_gateway: RunningGateway,
    sim_adapter: SimulatedGatewayAdapter,
    callback_receiver: CallbackReceiver,
) -> None:
    sim_gateway.set_faults(callback_duplicate_rate=1.0, callback_stale_rate=1.0)
    sim_adapter.submit(sample_order("P1", callback_url=callback_receiver.url))
    wait_until(lambda: len(callback_receiver.deliveries("P1")) == 4)  # 2 final + 2 stale
    answers = [
        sim_adapter.parse_callback(d.headers, d.body, dt.datetime.now(dt.UTC))
        for d in callback_receiver.deliveries("P1")
    ]
    outcomes = [a.outcome for a in answers]
    assert outcomes == [Outcome.SUCCEEDED] * 2 + [Outcome.PROCESSING] * 2


# -- statements ----------------------------------------------------------------------------


def test_the_statement_streams_and_parses(
    sim_gateway: RunningGateway, sim_adapter: SimulatedGatewayAdapter
) -> None:
    day = dt.date(2026, 1, 15)
    sim_gateway.set_trade_date(day)
    sim_adapter.submit(sample_order("P1", amount=123_456))
    sim_adapter.submit(sample_order("P2", amount=100))
    sim_gateway.reverse("P2")
    lines = [
        line
        for line in parse_statement(sim_adapter.fetch_statement(day))
        if isinstance(line, StatementLine)
    ]
    summary = [(line.order_no, line.amount, line.fee, line.status) for line in lines]
    assert summary == [
        ("P1", 123_456, 173, "succeeded"),
        ("P2", 100, 50, "succeeded"),
        ("P2", 100, 0, "reversed"),
    ]


def test_an_unavailable_statement_raises_when_read(sim_gateway: RunningGateway) -> None:
    with _adapter(sim_gateway, secret=b"rotated") as adapter:
        stream = adapter.fetch_statement(dt.date(2026, 1, 15))  # lazy: nothing sent yet
        with pytest.raises(StatementUnavailable, match="401"):
            next(stream)
    unreachable = SimulatedGatewayAdapter("sim", f"http://127.0.0.1:{_free_port()}", "M", b"s")
    with pytest.raises(StatementUnavailable):
        list(unreachable.fetch_statement(dt.date(2026, 1, 15)))
