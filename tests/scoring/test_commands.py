"""``lendbridge model ...`` end to end on a small synthetic loan book."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.scoring.synthetic import messy_loan_book
from tests.identity.factories import staff

METRIC_KEYS = {"name", "auc", "ks", "gini", "brier"}


@pytest.fixture
def database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scoring") / "book.csv"
    path.write_text(messy_loan_book(600, seed=3), encoding="utf-8")
    return path


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


# Training is the slow part and the registry runs on PostgreSQL in test_registry: SQLite here.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_train_promote_evaluate_monitor(
    database: str, engine: Engine, book: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"folds": 3, "sentinels": ["-1"]}', encoding="utf-8")
    train = ["model", "train", "--data", str(book), "--target", "loan_status", "--spec", str(spec)]
    out = json.loads(run(*train, "--bad-value", "Charged Off", "--name", "book", "--json"))
    assert set(out) >= {"models", "champion"}
    assert out["champion"] is None
    assert [m["name"] for m in out["models"]] == ["book-scorecard", "book-gbm"]
    for m in out["models"]:
        assert set(m) >= METRIC_KEYS
        assert 0.6 < m["auc"] < 1.0
        assert m["gini"] == pytest.approx(2 * m["auc"] - 1, abs=1e-5)
    columns = {c["name"]: c for c in out["data_quality"]["columns"]}
    assert columns["member_id"]["excluded"] == "identifier"
    assert columns["policy_code"]["excluded"] == "constant"
    assert columns["loan_amnt"]["coerced"]["amount"] > 0
    assert columns["emp_length"]["coerced"]["duration"] == 600

    listed = json.loads(run("model", "list", "--json"))
    assert {m["name"] for m in listed} == {"book-scorecard", "book-gbm"}
    shown = json.loads(run("model", "show", "book-scorecard:1", "--json"))
    assert len(shown["metrics"]["reliability"]) == 10

    with Session(engine) as session:
        staff(session, "risk_analyst", username="analyst")
        staff(session, "compliance_officer", username="checker")
        session.commit()
    requested = run("model", "promote", "book-scorecard", "--by", "analyst", "--reason", "first")
    request_id = requested.rsplit(" ", 1)[-1].strip()
    run("model", "decide", request_id, "--by", "analyst", code=1)  # four eyes
    assert "approved" in run("model", "decide", request_id, "--by", "checker")

    evaluated = json.loads(
        run(
            "model", "evaluate", "book-scorecard", "--data", str(book),
            "--target", "loan_status", "--bad-value", "Charged Off", "--json",
        )
    )  # fmt: skip
    assert evaluated["auc"] > 0.6
    assert evaluated["rows"] == 600
    monitored = json.loads(run("model", "monitor", "--data", str(book), "--json"))
    assert monitored["model"] == "book-scorecard v1"
    assert monitored["score"]["band"] == "stable"
    assert monitored["score"]["psi"] == pytest.approx(0.0, abs=1e-9)


def test_training_refusals_are_messages(database: str, tmp_path: Path, book: Path) -> None:
    out = run("model", "train", "--data", str(book), "--target", "nope", "--bad-value", "x", code=1)
    assert "no column 'nope'" in out
    one_class = run(
        "model", "train", "--data", str(book), "--target", "loan_status",
        "--bad-value", "Defaulted", code=1,
    )  # fmt: skip
    assert "one class" in one_class
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,target\n,,\n,,\n", encoding="utf-8")
    assert "no usable rows" in run(
        "model", "train", "--data", str(empty), "--target", "target", "--bad-value", "1", code=1
    )
    spec = tmp_path / "spec.json"
    spec.write_text('{"folds": 1}', encoding="utf-8")
    refused = run(
        "model", "train", "--data", str(book), "--target", "loan_status",
        "--bad-value", "Charged Off", "--spec", str(spec), code=1,
    )  # fmt: skip
    assert "spec.folds" in refused
    assert "no model" in run("model", "show", "missing", code=1)
