"""``lendbridge audit verify | anchor | export-anchors`` (the typer sub-application, invoked
on its own so the test does not depend on how cli.py mounts it)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from lendbridge.audit.commands import audit_app
from lendbridge.config import get_settings
from lendbridge.kit import calendar
from lendbridge.kit.db import make_session_factory, unit_of_work
from tests.audit.factories import tamper, write


@pytest.fixture
def cli(engine, monkeypatch):
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    write(engine, 6, per_transaction=2)
    with unit_of_work(make_session_factory(engine)) as session:
        calendar.set_business_date(session, dt.date(2026, 1, 16))
    write(engine, 4, per_transaction=2)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(audit_app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout

    yield invoke
    get_settings.cache_clear()


def test_verify_passes_and_reports_the_head(cli):
    out = cli("verify")
    assert "audit chain intact" in out
    assert "records 1..10" in out
    report = json.loads(cli("verify", "--json"))
    assert (report["ok"], report["checked"], report["head_seq"]) == (True, 10, 10)


def test_verify_exits_1_naming_the_first_bad_record(cli, engine):
    tamper(engine, "UPDATE audit_record SET target_id = 'forged' WHERE seq = 4")
    tamper(engine, "UPDATE audit_record SET target_id = 'forged' WHERE seq = 8")
    out = cli("verify", code=1)
    assert "BROKEN at record 4" in out
    assert "content_altered" in out
    assert json.loads(cli("verify", "--json", code=1))["problem"]["seq"] == 4
    assert "intact" in cli("verify", "--from-seq", "5", "--limit", "2")


def test_anchor_and_export_then_verify_against_them(cli, engine, tmp_path):
    closed = json.loads(cli("anchor"))
    assert (closed["business_date"], closed["last_seq"]) == ("2026-01-15", 6)
    today = json.loads(cli("anchor", "--day", "2026-01-16"))
    assert today["last_seq"] == 10
    lines = cli("export-anchors").splitlines()
    assert [json.loads(line)["last_seq"] for line in lines] == [6]
    path = tmp_path / "anchors.jsonl"
    assert "wrote 2 anchors" in cli("export-anchors", "-o", str(path), "--to", "2026-01-16")
    assert "2 anchors matched" in cli("verify", "--anchors", str(path))

    forged = [json.loads(line) for line in path.read_text().splitlines()]
    forged[1]["hash"] = "0" * 64
    path.write_text("".join(json.dumps(a) + "\n" for a in forged))
    out = cli("verify", "--anchors", str(path), code=1)
    assert "BROKEN at record 10" in out
    assert "anchor_mismatch" in out


def test_bad_arguments_are_usage_errors(cli, tmp_path):
    assert "YYYY-MM-DD" in CliRunner().invoke(audit_app, ["anchor", "--day", "tomorrow"]).output
    cli("anchor", "--day", "tomorrow", code=2)
    bad = tmp_path / "anchors.jsonl"
    bad.write_text("not json\n")
    cli("verify", "--anchors", str(bad), code=2)
    cli("verify", "--from-seq", "0", code=2)
