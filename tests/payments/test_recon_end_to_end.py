"""Reconciliation of the simulated gateway's own statement file: orders sent over real HTTP
(some failing, some reversed by the channel afterwards) reconcile with no break; the same
statement with a line taken out and a stranger's line added shows exactly those two."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lendbridge.kit.actor import system_actor
from lendbridge.payments.gateway.faults import FinalError
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.recon import importer
from lendbridge.payments.recon.schemas import RunOut
from tests.conftest import TODAY
from tests.payments.e2e import Platform, serve_platform

pytest_plugins = ["tests.payments.gateway_fixtures"]


@pytest.fixture
def platform(engine: Engine, sim_gateway: RunningGateway) -> Iterator[Platform]:
    sim_gateway.set_trade_date(TODAY)  # the platform's business date in these tests
    yield from serve_platform(engine, sim_gateway)


def status(platform: Platform, order_id: str) -> str:
    return str(platform.http.get(f"/v1/payments/orders/{order_id}").json()["status"])


def reconcile(platform: Platform, data: bytes) -> RunOut:
    with platform.session() as session:
        out, created = importer.import_statement(
            session, "sim", io.BytesIO(data), actor=system_actor("tests")
        )
        session.commit()
    assert created
    return out


def test_the_gateways_statement_reconciles(
    platform: Platform, sim_gateway: RunningGateway, tmp_path: Path
) -> None:
    sim_gateway.set_faults(
        async_rate=0.3,
        async_delay_ms=(10, 100),
        failure_rates={FinalError.INSUFFICIENT_FUNDS: 0.2},
    )
    ids = [platform.order(10_000 + 37 * i) for i in range(12)]
    ids += [platform.order(5_000 + 11 * i, kind="collection") for i in range(4)]
    platform.wait_settled()
    succeeded = [i for i in ids if status(platform, i) == "succeeded"]
    assert len(succeeded) >= 3
    for order_id in succeeded[:2]:
        assert sim_gateway.reverse(order_id)
    deadline = time.monotonic() + 30
    while any(status(platform, i) != "reversed" for i in succeeded[:2]):
        assert time.monotonic() < deadline, "reversal callbacks did not arrive"
        time.sleep(0.05)
    path = tmp_path / "statement.csv"
    sim_gateway.write_statement(path, TODAY)
    data = path.read_bytes()
    lines = data.decode().strip().splitlines()[1:]
    executed = sum(status(platform, i) in ("succeeded", "reversed") for i in ids)
    assert len(lines) == executed + 2  # a SUCCESS line each, and the two REVERSED lines

    clean = reconcile(platform, data)
    assert clean.breaks == 0, clean
    assert (clean.lines, clean.matched_lines) == (len(lines), len(lines))
    assert clean.platform.count == executed + 2
    assert clean.statement.amount == clean.platform.amount == clean.matched_amount

    # The first line taken out, a stranger's line added.
    stranger = (
        lines[1]
        .replace(lines[1].split(",")[2], "P-unknown")
        .replace(lines[1].split(",")[1], "SG-unknown")
    )
    stranger = stranger.replace(stranger.split(",")[8], "6222****0000")
    edited = "\n".join([data.decode().splitlines()[0], *lines[1:], stranger]) + "\n"
    broken = reconcile(platform, edited.encode())
    assert {k: v.count for k, v in broken.breaks_by_kind.items()} == {
        "missing_at_channel": 1,
        "missing_on_platform": 1,
    }
