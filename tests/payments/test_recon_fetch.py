"""``lendbridge recon fetch``: the statement downloaded from the channel through its adapter
(over HTTP from the simulated gateway), then imported and reconciled."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lendbridge.config import get_settings
from lendbridge.kit.db import unit_of_work
from lendbridge.payments import channel_config
from lendbridge.payments.channels.simulated import SimulatedGatewayAdapter
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.gateway.testkit import sample_order
from lendbridge.payments.recon.commands import recon_app
from tests.conftest import TODAY
from tests.payments.conftest import ACTOR, Payments, channel_request

pytest_plugins = ["tests.payments.gateway_fixtures"]
SECRET_ENV = "LENDBRIDGE_TEST_FETCH_SECRET"


@pytest.fixture
def cli_env(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, sim_gateway: RunningGateway, payments: Payments
) -> Iterator[None]:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(SECRET_ENV, sim_gateway.secret.decode())
    get_settings.cache_clear()
    with unit_of_work(payments.factory) as session:
        channel_config.save_channel(
            session,
            channel_request(
                base_url=sim_gateway.base_url,
                merchant_id=sim_gateway.merchant_id,
                secret_env=SECRET_ENV,
            ),
            ACTOR,
        )
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_fetch_downloads_and_reconciles(sim_gateway: RunningGateway) -> None:
    sim_gateway.set_trade_date(TODAY)
    with SimulatedGatewayAdapter(
        "sim", sim_gateway.base_url, sim_gateway.merchant_id, sim_gateway.secret
    ) as adapter:
        for i in range(3):  # paid by someone else: the platform has no such orders
            adapter.submit(sample_order(f"STRANGER-{i}", amount=1_000 + i))
    result = CliRunner().invoke(
        recon_app, ["fetch", "--channel", "sim", "--date", TODAY.isoformat(), "--json"]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    run = json.loads(result.output)
    assert run["lines"] == 3
    assert run["breaks_by_kind"]["missing_on_platform"]["count"] == 3


@pytest.mark.usefixtures("cli_env")
def test_fetch_reports_an_unknown_channel() -> None:
    result = CliRunner().invoke(recon_app, ["fetch", "--channel", "nope", "--date", "2026-01-15"])
    assert result.exit_code == 1
    assert "nope" in result.output
