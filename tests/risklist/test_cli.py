"""``lendbridge risk-list add|remove|list``: one transaction each, masked output, a refused
value exits 1 naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lendbridge.audit.models import AuditRecord
from lendbridge.cli import app
from lendbridge.config import get_settings


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["risk-list", *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def test_add_list_remove(run: Any, engine: Engine) -> None:
    out = run("add", "--kind", "phone", "--value", "13800000009", "--reason", "fraud ring")
    assert "listed phone 138****0009 as entry" in out
    assert "13800000009" not in out
    entry_id = out.split("as entry ")[1].split()[0]
    court = ("--reason", "court", "--source", "court_list")
    run("add", "--kind", "resident_id", "--value", "110105199003071239", *court)
    listed = json.loads(run("list", "--json"))
    assert [row["kind"] for row in listed] == ["resident_id", "phone"]
    assert listed[0]["value_masked"] == "110105********1239"
    assert "110105199003071239" not in run("list")
    assert f"removed entry {entry_id} (138****0009)" in run("remove", entry_id, "--reason", "paid")
    assert [row["id"] for row in json.loads(run("list", "--removed", "--json"))] == [entry_id]
    assert len(json.loads(run("list", "--active", "--kind", "phone", "--json"))) == 0
    with Session(engine) as session:
        actions = sorted(
            r.action
            for r in session.scalars(
                select(AuditRecord).where(AuditRecord.action.like("risk_list.%"))
            )
        )
    assert actions == ["risk_list.add", "risk_list.add", "risk_list.remove"]


def test_refusals_exit_1_naming_the_field(run: Any) -> None:
    card = ("--kind", "bank_card", "--value", "6222020200012345671")  # Luhn digit wrong
    out = run("add", *card, "--reason", "x", code=1)
    assert "value:" in out
    run("add", "--kind", "phone", "--value", "13800000009", "--reason", "x")
    again = run("add", "--kind", "phone", "--value", "13800000009", "--reason", "x", code=1)
    assert "already on the risk list" in again
    assert len(json.loads(run("list", "--json"))) == 1
