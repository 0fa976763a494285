"""Live applications feed model monitoring: ``lendbridge model monitor --live`` compares the
input rows of the applications the champion decided with its training data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.origination.monitoring import live_rows
from tests.origination.conftest import Desk
from tests.origination.test_applications import DECLINED, GRADE_A


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def test_live_application_scores_feed_the_monitor(
    desk: Desk, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    assert "no application was decided" in run("model", "monitor", "--live", code=1)

    good = desk.apply(desk.borrower(), desk.body(desk.features_scoring(*GRADE_A)))
    desk.apply(desk.borrower("wang"), desk.body(desk.features_scoring(*DECLINED)))
    rows = desk.book.run(lambda s: live_rows(s, "german-scorecard", 1, desk.book.today()))
    assert len(rows) == 2
    assert rows[0]["credit_amount"] == 10_000
    assert rows[0]["duration_in_month"] == 12
    assert rows[0]["age_in_years"] == 35
    assert desk.model.score(rows[0]).score == good.score

    report = json.loads(run("model", "monitor", "--live", "--days", "7", "--json"))
    assert report["model"] == "german-scorecard v1"
    assert report["rows"] == 2
    assert report["score"]["band"] in {"stable", "watch", "shift"}
    names = {c["name"] for c in report["characteristics"]}
    assert "credit_amount" in names
    assert "housing" in names
    assert "either --data" in run("model", "monitor", code=2)
