"""The gateway's callbacks: signed, delivered off the request path, retried, and — when the
faults say so — late, duplicated and out of order."""

from __future__ import annotations

import datetime as dt
import socket
import time

from lendbridge.payments.gateway.faults import Action
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.gateway.testkit import CallbackReceiver, SignedClient, wait_until
from lendbridge.payments.gateway.testkit import sample_order_json as order_body
from lendbridge.payments.signing import verify

pytest_plugins = ["tests.payments.gateway_fixtures"]


def _settled(gateway: RunningGateway) -> bool:
    return gateway.stats()["callbacks"]["pending"] == 0


def test_a_callback_is_signed_and_carries_the_final_state(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    answer = signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: callback_receiver.deliveries("P1"), message="the callback")
    (delivery,) = callback_receiver.deliveries("P1")
    verify(
        sim_gateway.secret,
        delivery.headers["x-timestamp"],
        delivery.headers["x-signature"],
        delivery.body,
        dt.datetime.now(dt.UTC),
    )
    assert delivery.headers["x-merchant-id"] == sim_gateway.merchant_id
    assert delivery.headers["content-type"] == "application/json"
    data = delivery.data
    state = answer.json()
    for name in ("order_no", "channel_ref", "status", "error_code", "amount", "completed_at"):
        assert data[name] == state[name]
    assert data["currency"] == "CNY"
    assert data["notify_id"] == f"{state['channel_ref']}-succeeded"
    wait_until(lambda: _settled(sim_gateway))
    assert sim_gateway.stats()["callbacks"]["delivered"] == 1


def test_failures_are_called_back_too(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(failure_rates={"ACCOUNT_CLOSED": 1.0})
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: callback_receiver.deliveries("P1"))
    data = callback_receiver.deliveries("P1")[0].data
    assert (data["status"], data["error_code"]) == ("failed", "ACCOUNT_CLOSED")


def test_an_asynchronous_order_is_called_back_when_it_completes(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(by_order={"P1": [Action.HOLD]})
    answer = signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    assert answer.json()["status"] == "processing"
    assert callback_receiver.deliveries("P1") == []
    sim_gateway.complete("P1")
    wait_until(lambda: callback_receiver.statuses("P1") == ["succeeded"])


def test_a_refused_callback_is_retried_until_it_is_taken(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.fail_next = 2
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: len(callback_receiver.deliveries("P1")) == 3)
    first, _, last = callback_receiver.deliveries("P1")
    assert first.body == last.body  # the same callback, signed afresh for each try
    wait_until(lambda: _settled(sim_gateway))
    callbacks = sim_gateway.stats()["callbacks"]
    assert (callbacks["attempts"], callbacks["delivered"]) == (3, 1)


def test_the_gateway_gives_up_after_its_attempts(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.fail_next = 100
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: sim_gateway.stats()["callbacks"].get("failed") == 1)
    assert len(callback_receiver.deliveries("P1")) == sim_gateway.gateway.config.callback_attempts


def test_an_unreachable_platform_never_holds_up_the_answer(
    sim_gateway: RunningGateway, signed_client: SignedClient
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    answer = signed_client.post_order(order_body("P1", callback_url=f"http://127.0.0.1:{port}/"))
    assert answer.json()["status"] == "succeeded"
    wait_until(lambda: sim_gateway.stats()["callbacks"].get("failed") == 1)


def test_duplicated_callbacks_arrive_several_times(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(callback_duplicate_rate=1.0, callback_copies=3)
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: len(callback_receiver.deliveries("P1")) == 3)
    assert len({d.body for d in callback_receiver.deliveries("P1")}) == 1
    assert sim_gateway.executions("P1") == 1


def test_delayed_callbacks_arrive_after_their_delay(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(callback_delay_ms=(300, 300))
    sent = time.monotonic()
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: callback_receiver.deliveries("P1"))
    assert callback_receiver.deliveries("P1")[0].at - sent >= 0.3


def test_a_stale_processing_callback_can_follow_the_final_one(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(callback_stale_rate=1.0)
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: len(callback_receiver.deliveries("P1")) == 2)
    assert callback_receiver.statuses("P1") == ["succeeded", "processing"]
    stale = callback_receiver.deliveries("P1")[1].data
    assert stale["completed_at"] is None
    assert stale["error_code"] is None


def test_a_reversal_is_called_back(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(reversal_rate=1.0, reversal_delay_ms=(10, 20))
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: callback_receiver.statuses("P1") == ["succeeded", "reversed"])
    reversal = callback_receiver.deliveries("P1")[1].data
    assert reversal["reversed_at"] is not None
    assert reversal["notify_id"].endswith("-reversed")


def test_a_reversal_can_be_called_back_before_the_success(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(
        reversal_rate=1.0, reversal_delay_ms=(10, 20), callback_reversal_first_rate=1.0
    )
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    wait_until(lambda: len(callback_receiver.deliveries("P1")) == 2)
    assert callback_receiver.statuses("P1") == ["reversed", "succeeded"]


def test_a_reset_cancels_pending_callbacks(
    sim_gateway: RunningGateway, signed_client: SignedClient, callback_receiver: CallbackReceiver
) -> None:
    sim_gateway.set_faults(callback_delay_ms=(60_000, 60_000))
    signed_client.post_order(order_body("P1", callback_url=callback_receiver.url))
    assert sim_gateway.stats()["callbacks"]["pending"] == 1
    sim_gateway.reset()
    assert sim_gateway.stats()["callbacks"]["pending"] == 0
