"""``lendbridge payments ...`` on both databases: channels listed and saved from a file, the
manual queue, settlement, recovery; a refusal is printed with its reason and exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from tests.payments.conftest import Payments, channel_request
from tests.payments.test_submission import create, run_jobs

pytestmark = pytest.mark.usefixtures("payments")


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def test_channels_are_listed_and_saved_from_a_file(run: Any, tmp_path: Path) -> None:
    (listed,) = json.loads(run("payments", "channels", "--json"))
    assert listed["name"] == "sim"
    body = channel_request(name="bank2", display_name="Second bank").model_dump(mode="json")
    path = tmp_path / "bank2.json"
    path.write_text(json.dumps(body))
    run("payments", "channel-save", str(path))
    assert {c["name"] for c in json.loads(run("payments", "channels", "--json"))} == {
        "sim",
        "bank2",
    }


def test_a_bad_channel_file_is_refused_naming_the_field(run: Any, tmp_path: Path) -> None:
    body = channel_request().model_dump(mode="json")
    body["per_order_limit"] = -5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(body))
    output = run("payments", "channel-save", str(path), code=1)
    assert "per_order_limit" in output


def test_manual_queue_settlement_and_recovery(payments: Payments, run: Any) -> None:
    payments.fake.will(*["SYSTEM_BUSY"] * 3)
    queued = create(payments)
    run_jobs(payments)
    assert str(queued)[:8] in run("payments", "manual-queue")
    assert "0 orders queued for a status query" in run("payments", "recover")  # none stuck
    output = run("payments", "settle", "--channel", "nope", code=1)
    assert "error" in output
    assert "nope" in output
