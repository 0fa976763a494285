"""``lendbridge loans show|list`` and the loan sub-ledger in ``lendbridge ledger check`` on both
databases: a consistent book passes; a loan whose cached balance disagrees is named and the
command exits 1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.servicing import check
from lendbridge.servicing.models import Loan
from tests.servicing.conftest import Book


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


def test_show_list_and_check(book: Book, run: Any) -> None:
    loan = book.disburse(book.create(book.customer(), 6_000_00, 6).id)
    listing = run("loans", "list")
    assert str(loan.id) in listing
    assert "1 loans" in listing
    (item,) = json.loads(run("loans", "list", "--status", "active", "--json"))
    assert item["id"] == str(loan.id)
    assert json.loads(run("loans", "list", "--status", "paid_off", "--json")) == []
    shown = run("loans", "show", str(loan.id))
    assert "active" in shown
    assert "6000.00" in shown
    assert "days past due 0" in shown
    shown_json = json.loads(run("loans", "show", str(loan.id), "--json"))
    assert shown_json["id"] == str(loan.id)
    assert (shown_json["dpd"], shown_json["delinquency_bucket"]) == (0, "current")
    assert shown_json["classification"] == "normal"
    assert "no loan" in run("loans", "show", str(uuid.uuid4()), code=1)
    assert "loan sub-ledger consistent" in run("ledger", "check")


def test_a_cached_balance_that_disagrees_is_found(book: Book, run: Any) -> None:
    loan = book.disburse(book.create(book.customer(), 6_000_00, 6).id)
    book.run(
        lambda s: s.execute(
            update(Loan).where(Loan.id == loan.id).values(principal_outstanding=5_999_00)
        )
    )
    findings = book.run(check.consistency)
    subjects = {f.subject for f in findings}
    assert subjects == {str(loan.id), "1303.002"}
    output = run("ledger", "check", code=1)
    assert "loan sub-ledger mismatches" in output
    assert str(loan.id) in output
