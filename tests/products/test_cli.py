"""``lendbridge products ...`` on both databases: save (versions), list, show, retire, and
refusals that name the field with exit code 1."""

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
from tests.products.factories import document


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``run(*args, code=0)``: the command against the test's database; returns stdout."""
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["products", *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def write(tmp_path: Path, name: str = "product.json", **changes: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document(**changes), ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_save_list_show_retire(run: Any, tmp_path: Path) -> None:
    assert "product TEST-EI version 1 saved" in run("save", write(tmp_path))
    assert "unchanged: version 1" in run("save", write(tmp_path))
    assert "version 2 saved" in run("save", write(tmp_path, annual_rate_percent="10.5"))
    listing = run("list")
    assert "TEST-EI" in listing
    assert "10.5" in listing
    (item,) = json.loads(run("list", "--json"))
    assert (item["code"], item["version"], item["status"]) == ("TEST-EI", 2, "active")
    shown = json.loads(run("show", "TEST-EI", "--version", "1", "--json"))
    expected = document()
    assert {k: shown[k] for k in expected} == expected
    assert (shown["version"], shown["latest_version"]) == (1, 2)
    table = run("show", "TEST-EI")
    assert "annual_rate_percent" in table
    assert "10.5" in table
    assert "retired" in run("retire", "TEST-EI", "--reason", "end of campaign")
    assert json.loads(run("list", "--json", "--status", "retired"))[0]["code"] == "TEST-EI"
    refused = run("save", write(tmp_path, annual_rate_percent="9"), code=1)
    assert "retired" in refused


def test_refusals_name_the_field(run: Any, tmp_path: Path) -> None:
    out = run("save", write(tmp_path, penalty={"basis": "rate_multiple"}, max_amount=1), code=1)
    assert "max_amount: must be at least min_amount" in out
    assert "penalty.rate_multiple: is required when basis is rate_multiple" in out
    out = run("save", write(tmp_path, min_amount=500_00, upfront_fee={"fixed": 30_00}), code=1)
    assert "max_apr_percent: the APR of 500.00 CNY (50000 minor units) over 3 installments" in out
    out = run("save", write(tmp_path, annual_rate_percent=12, surprise=[1]), code=1)
    assert "annual_rate_percent" in out
    assert "surprise" in out
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    assert "is not a valid product" in run("save", str(bad), code=1)
    assert "no product has code 'NOPE'" in run("show", "NOPE", code=1)
    run("save", write(tmp_path))
    assert "product TEST-EI has no version 3" in run("show", "TEST-EI", "--version", "3", code=1)
    assert "no product has code 'NOPE'" in run("retire", "NOPE", code=1)
    assert "--reason" in run("retire", "NOPE", "--reason", "x" * 201, code=2)
