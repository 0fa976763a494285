"""``lendbridge collections queue`` on both databases: the overdue loans, by bucket, as a
table and as JSON; a bad bucket is a usage error."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from tests.servicing.collections.conftest import close
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


def test_the_queue_from_the_command_line(book: Book, run: Any) -> None:
    loan = book.disburse(book.create(book.customer(), 12_000_00, 12).id)
    assert "0 loans" in run("collections", "queue")
    close(book, dt.date(2026, 2, 20), batch_size=10)
    listing = run("collections", "queue")
    assert str(loan.id) in listing
    assert "1 loans" in listing
    (item,) = json.loads(run("collections", "queue", "--bucket", "M1", "--json"))
    assert (item["loan_id"], item["dpd"], item["bucket"]) == (str(loan.id), 5, "M1")
    assert json.loads(run("collections", "queue", "--bucket", "M2", "--json")) == []
    assert "M9" in run("collections", "queue", "--bucket", "M9", code=2)
    book.check()
