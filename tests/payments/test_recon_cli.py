"""``lendbridge recon import | report`` (the typer sub-application, invoked on its own)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lendbridge.config import get_settings
from lendbridge.payments.recon.commands import recon_app
from tests.payments.conftest import Payments
from tests.payments.test_recon_import import add_order, line, statement

pytestmark = pytest.mark.usefixtures("payments")
Invoke = Callable[..., str]


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(recon_app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def test_import_prints_the_run_and_exits_0_with_breaks(
    cli: Invoke, payments: Payments, tmp_path: Path
) -> None:
    order = add_order(payments, 10_000)
    missing = add_order(payments, 2_500)
    path = tmp_path / "statement-2026-01-15.csv"
    path.write_bytes(statement(line(order)))
    out = cli("import", "--channel", "sim", str(path))
    assert "imported" in out
    assert "1 breaks to work" in out
    assert "missing_at_channel" in out
    again = json.loads(cli("import", "--channel", "sim", str(path), "--json"))
    assert again["breaks"] == 1
    assert again["file_name"] == path.name
    assert again["matched_lines"] == 1
    assert "already imported" in cli("import", "--channel", "sim", str(path))
    report = json.loads(cli("report", "--channel", "sim", "--date", "2026-01-15", "--json"))
    assert report["runs"] == [again["id"]]
    assert report["open_by_kind"]["missing_at_channel"] == {"count": 1, "amount": missing.amount}
    text = cli("report", "--channel", "sim", "--date", "2026-01-15")
    assert "0-1" in text
    assert ">30" in text


def test_refusals_exit_non_zero(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(statement())
    assert "payment channel" in cli("import", "--channel", "nope", str(path), code=1)
    assert "cannot read" in cli("import", "--channel", "sim", str(tmp_path / "absent.csv"), code=1)
    assert "cannot read" in cli("import", "--channel", "sim", str(tmp_path), code=1)
    assert "date" in cli("import", "--channel", "sim", str(path), code=1)  # empty, no date
    cli("import", "--channel", "sim", str(path), "--date", "2026-01-15")
    path.write_bytes(b"what,ever\n1,2\n")
    assert "could be read" in cli("import", "--channel", "sim", str(path), code=1)
    cli("import", "--channel", "sim", str(path), "--date", "15.01.2026", code=2)
    cli("report", "--channel", "sim", "--date", "yesterday", code=2)
    assert "payment channel" in cli("report", "--channel", "nope", "--date", "2026-01-15", code=1)
