"""Fault configuration: validation, files, runtime changes, reproducible decisions, and the
admin surface that changes them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from lendbridge.payments.gateway.app import create_app
from lendbridge.payments.gateway.config import GatewayConfig
from lendbridge.payments.gateway.core import Gateway
from lendbridge.payments.gateway.faults import (
    Action,
    BusyBurst,
    FaultConfig,
    forced_action,
    plan_order,
    rng_for,
    transport_fault,
)
from lendbridge.payments.gateway.server import RunningGateway

pytest_plugins = ["tests.payments.gateway_fixtures"]


@pytest.mark.parametrize(
    "values",
    [
        {"failure_rates": {"INSUFFICIENT_FUNDS": 0.6, "CARD_FROZEN": 0.6}},
        {"system_busy_rate": 0.5, "lost_rate": 0.3, "timeout_rate": 0.3},
        {"async_delay_ms": [500, 100]},
        {"latency_ms": -1},
        {"async_rate": 1.5},
        {"failure_rates": {"SYSTEM_BUSY": 0.1}},  # not a final failure
        {"timeout_mode": "hang"},
        {"by_order": {"P1": ["EXPLODE"]}},
        {"no_such_fault": 1},
        {"callback_copies": 1},
    ],
)
def test_inconsistent_faults_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultConfig.model_validate(values)


def test_faults_load_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            {
                "latency_ms": 5,
                "failure_rates": {"INSUFFICIENT_FUNDS": 0.1},
                "busy_burst": {"every_ms": 60_000, "length_ms": 5_000, "rate": 0.9},
                "by_order": {"P1": ["SYSTEM_BUSY", "TIMEOUT"]},
            }
        )
    )
    faults = FaultConfig.from_file(path)
    assert faults.busy_burst == BusyBurst(every_ms=60_000, length_ms=5_000, rate=0.9)
    assert faults.by_order["P1"] == [Action.SYSTEM_BUSY, Action.TIMEOUT]
    assert faults.updated({"latency_ms": 7}).latency_ms == 7
    assert faults.updated({"latency_ms": 7}).failure_rates == faults.failure_rates


def test_a_burst_is_active_for_its_length_in_every_period() -> None:
    burst = BusyBurst(every_ms=1_000, length_ms=100)
    assert [burst.active(ms) for ms in (0, 99, 100, 999, 1_000, 1_050, 2_100)] == [
        True,
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    faults = FaultConfig(busy_burst=burst)
    rng = rng_for(1, "x")
    assert transport_fault(faults, None, rng, elapsed_ms=2_050) is Action.SYSTEM_BUSY
    assert transport_fault(faults, None, rng, elapsed_ms=2_500) is None


def test_scripted_actions_apply_per_attempt_then_rates_resume() -> None:
    faults = FaultConfig(
        by_order={"P1": [Action.SYSTEM_BUSY, Action.LOST]}, by_account={"62220000": Action.HOLD}
    )
    assert forced_action(faults, "P1", "6222", 0) is Action.SYSTEM_BUSY
    assert forced_action(faults, "P1", "6222", 1) is Action.LOST
    assert forced_action(faults, "P1", "6222", 2) is None
    assert forced_action(faults, "P2", "62220000", 5) is Action.HOLD


def test_decisions_depend_on_seed_and_order_not_on_arrival_order() -> None:
    faults = FaultConfig(
        failure_rates={"INSUFFICIENT_FUNDS": 0.3},
        async_rate=0.5,
        reversal_rate=0.3,
        callback_duplicate_rate=0.5,
    )

    def plans(order_nos: list[str], seed: int) -> dict[str, object]:
        return {no: plan_order(faults, None, rng_for(seed, "M1", no, "plan")) for no in order_nos}

    order_nos = [f"P{i}" for i in range(50)]
    assert plans(order_nos, 7) == plans(list(reversed(order_nos)), 7)
    assert plans(order_nos, 7) != plans(order_nos, 8)


def test_forced_outcomes_override_the_rates() -> None:
    faults = FaultConfig(failure_rates={"INSUFFICIENT_FUNDS": 1.0}, async_rate=1.0)
    rng = rng_for(1, "P1")
    assert plan_order(faults, Action.SUCCEED, rng).error_code is None
    assert plan_order(faults, Action.SUCCEED, rng).async_delay is None
    hold = plan_order(faults, Action.HOLD, rng)
    assert hold.hold
    reverse = plan_order(faults, Action.REVERSE, rng)
    assert reverse.reverse_delay is not None
    assert reverse.error_code is None
    assert plan_order(faults, Action.CARD_FROZEN, rng).error_code == "CARD_FROZEN"


def test_faults_change_at_runtime_through_the_admin_api(sim_gateway: RunningGateway) -> None:
    url = f"{sim_gateway.base_url}/admin/faults"
    changed = httpx.post(url, json={"async_rate": 0.25, "latency_ms": 3}).json()
    assert (changed["async_rate"], changed["latency_ms"]) == (0.25, 3)
    again = httpx.post(url, json={"latency_ms": 4}).json()
    assert (again["async_rate"], again["latency_ms"]) == (0.25, 4)  # a patch keeps the rest
    assert sim_gateway.gateway.faults.latency_ms == 4
    fresh = httpx.post(f"{url}?reset=true", json={"lost_rate": 0.1}).json()
    assert (fresh["async_rate"], fresh["lost_rate"]) == (0.0, 0.1)
    assert httpx.get(url).json() == fresh
    refused = httpx.post(url, json={"lost_rate": 2})
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "INVALID_REQUEST"
    assert httpx.post(url, content=b"[1]").status_code == 400


def test_reset_through_the_admin_api_takes_a_seed_and_faults(sim_gateway: RunningGateway):
    url = f"{sim_gateway.base_url}/admin/reset"
    stats = httpx.post(url, json={"seed": 5, "faults": {"async_rate": 1.0}}).json()
    assert stats["orders"] == 0
    assert sim_gateway.gateway.seed == 5
    assert sim_gateway.gateway.faults.async_rate == 1.0


def test_admin_routes_answer_loopback_callers_only() -> None:
    app = create_app(Gateway(GatewayConfig({"M1": b"s"})))
    outsider = TestClient(app, client=("10.1.2.3", 50_000))
    assert outsider.get("/admin/stats").status_code == 403
    assert outsider.post("/admin/faults", json={"lost_rate": 1.0}).status_code == 403
    for host in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert TestClient(app, client=(host, 50_000)).get("/admin/stats").status_code == 200


def test_the_command_refuses_bad_options(tmp_path: Path) -> None:
    import typer

    from lendbridge.payments.gateway.command import gateway_command

    app = typer.Typer()
    app.command()(gateway_command)
    bad = tmp_path / "faults.json"
    bad.write_text('{"lost_rate": 3}')
    for args in (["--faults-file", str(bad)], ["--fee-bps", "ten"], ["--trade-date", "soon"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output


def test_the_command_builds_the_gateway_from_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from lendbridge.payments.gateway import command

    served: list[tuple[Gateway, str, int]] = []
    monkeypatch.setattr(
        command, "serve", lambda g, host, port, level: served.append((g, host, port))
    )
    app = typer.Typer()
    app.command()(command.gateway_command)
    faults = tmp_path / "faults.json"
    faults.write_text('{"async_rate": 0.5}')
    result = CliRunner().invoke(
        app,
        [
            "--port", "8999", "--secret", "s3cret", "--merchant-id", "M7", "--seed", "9",
            "--faults-file", str(faults), "--fee-fixed", "100", "--fee-bps", "2.5",
            "--trade-date", "2026-01-15",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ((gateway, host, port),) = served
    assert (host, port) == ("127.0.0.1", 8999)
    assert gateway.config.merchants == {"M7": b"s3cret"}
    assert gateway.seed == 9
    assert gateway.faults.async_rate == 0.5
    assert gateway.fees.fee(1_000_000) == 350
    assert gateway.trade_date().isoformat() == "2026-01-15"
    assert "M7" in result.output
