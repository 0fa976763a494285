"""``lendbridge policy ...``: list, show, propose (a draft), what-if; invalid files exit 1
naming the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.decisions import policies
from lendbridge.decisions.service import ModelRef, record_decision
from lendbridge.kit.actor import system_actor
from tests.decisions.factories import MAKER, facts, policy_data, score


@pytest.fixture
def run(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["policy", *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_list_show_propose_what_if(run: Any, tmp_path: Path, engine: Engine) -> None:
    with Session(engine) as session:
        row = policies.ensure_default_policy(session, system_actor("setup"))
        for points in (650, 540):
            record_decision(
                session, uuid.uuid4(), facts(), score(points), row, ModelRef("m", "1"), MAKER
            )
        session.commit()
    assert "standard" in run("list")
    shown = run("show", "standard")
    assert "age_range" in shown
    assert "9.6" in shown
    assert json.loads(run("show", "--json"))["document"]["name"] == "standard"
    candidate = policy_data(description="stricter")
    candidate["grades"][2]["outcome"] = "decline"
    path = write(tmp_path, candidate)
    assert "version 2 saved as a draft" in run("propose", "--file", path)
    assert "unchanged: version 2 (draft)" in run("propose", "--file", path)
    (listed,) = [p for p in json.loads(run("list", "--json")) if p["version"] == 2]
    assert listed["status"] == "draft"
    report = json.loads(run("what-if", "--file", path, "--json"))
    assert (report["decisions"], report["changed"]) == (2, 1)
    assert report["transitions"] == {"approve->decline": 1}
    assert "approval rate 100.00% -> 50.00%" in run("what-if", "--file", path)


def test_invalid_files_exit_1_naming_the_field(run: Any, tmp_path: Path) -> None:
    data = policy_data()
    data["eligibility"][1]["expression"] = "kyc_rank >= "
    out = run("propose", "--file", write(tmp_path, data), code=1)
    assert "eligibility.1.expression" in out
    assert "syntax error" in out
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    assert "not JSON" in run("what-if", "--file", str(path), code=1)
    refused = run("show", "nosuch", code=1)
    assert "Decision policy not found" in refused
    assert "no decision policy nosuch" in refused
