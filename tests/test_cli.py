"""The `lendbridge` command end to end, against a fresh database per test."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.kit import calendar
from lendbridge.kit.db import make_engine
from lendbridge.ledger.check import counts
from lendbridge.ledger.models import Account
from tests.conftest import NO_POSTGRES, POSTGRES_URL

BEAN_CHECK = Path(sys.executable).parent / "bean-check"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'var' / 'cli.db'}"
    use_database(monkeypatch, url)
    yield url
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.stdout


def snapshot(url: str) -> tuple[object, ...]:
    """Row counts and every account's totals and last change: equal snapshots mean nothing
    was written in between."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            accounts = session.execute(
                select(
                    Account.code,
                    Account.debits_posted,
                    Account.credits_posted,
                    Account.debits_pending,
                    Account.credits_pending,
                    Account.updated_at,
                ).order_by(Account.code)
            ).all()
            return counts(session), tuple(accounts)
    finally:
        engine.dispose()


def test_init_creates_the_schema_calendar_and_chart(runner, sqlite_url):
    out = invoke(runner, "init")
    assert "schema migrated from empty" in out
    assert "business date" in out
    first = snapshot(sqlite_url)
    assert first[0].accounts > 20
    assert first[0].entries == 0
    out = invoke(runner, "init")
    assert "schema is current" in out
    assert "0 opened" in out
    assert snapshot(sqlite_url) == first


def test_demo_twice_writes_nothing_the_second_time(runner, sqlite_url):
    out = invoke(runner, "init", "--demo")
    assert "demo data" in out
    assert "credit model: german-scorecard v1 trained on German credit" in out
    assert "decision policy: standard v1, active" in out
    assert "applications demo: 赵敏 offered" in out  # decided live by the champion and policy
    assert "李娜 declined" in out  # a loan of hers is overdue in the loans demo
    first = snapshot(sqlite_url)
    assert first[0].entries > 10
    assert first[0].holds >= 2
    out = invoke(runner, "init", "--demo")
    assert "wrote 0 accounts, 0 entries, 0 holds" in out
    assert "credit model:" not in out  # the champion exists: nothing trained again
    assert "applications demo: already loaded" in out
    assert snapshot(sqlite_url) == first
    out = invoke(runner, "model", "list")
    assert "champion" in out
    out = invoke(runner, "policy", "list")
    assert "standard" in out
    assert "active" in out


def test_demo_rerun_on_a_later_business_date_still_writes_nothing(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    first = snapshot(sqlite_url)
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        calendar.set_business_date(session, calendar.business_date(session) + dt.timedelta(days=3))
        session.commit()
    engine.dispose()
    invoke(runner, "init", "--demo")
    assert snapshot(sqlite_url)[0] == first[0]


def test_trial_balance_balances(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    out = invoke(runner, "ledger", "trial-balance")
    assert "Total CNY" in out
    assert "UNBALANCED" not in out
    assert "5,000,000.00" in out  # the capital, in major units


def test_trial_balance_json_is_parseable(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    data = json.loads(invoke(runner, "ledger", "trial-balance", "--json"))
    assert {t["currency"] for t in data["totals"]} == {"CNY", "USD"}
    assert all(t["balanced"] for t in data["totals"])
    assert all(isinstance(line["debit"], int) for line in data["lines"])


def test_trial_balance_filters(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    data = json.loads(
        invoke(
            runner,
            "ledger",
            "trial-balance",
            "--json",
            "--currency",
            "USD",
            "--as-of",
            "2000-01-01",
        )
    )
    assert data["lines"] == []
    assert data["as_of"] == "2000-01-01"
    invoke(runner, "ledger", "trial-balance", "--as-of", "not-a-date", code=2)


def test_trial_balance_exits_1_when_unbalanced(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ledger_account SET debits_posted = debits_posted + 1 "
                "WHERE code = '1002.001'"
            )
        )
    engine.dispose()
    out = invoke(runner, "ledger", "trial-balance", code=1)
    assert "UNBALANCED" in out
    out = invoke(runner, "ledger", "check", code=1)
    assert "account 1002.001 debits_posted" in out


def test_export_passes_bean_check(runner, sqlite_url, tmp_path):
    invoke(runner, "init", "--demo")
    path = tmp_path / "ledger.beancount"
    out = invoke(runner, "ledger", "export", "--format", "beancount", "--output", str(path))
    assert "transactions" in out
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    to_stdout = invoke(runner, "ledger", "export")
    assert to_stdout.count(" * ") == path.read_text(encoding="utf-8").count(" * ")


def test_check_passes_on_the_demo(runner, sqlite_url):
    invoke(runner, "init", "--demo")
    out = invoke(runner, "ledger", "check")
    assert "ledger consistent" in out


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_demo_on_postgres(runner, monkeypatch):
    """`init --demo` creates a PostgreSQL database of its own, twice is a no-op, and the
    result checks, balances and exports."""
    assert POSTGRES_URL is not None
    name = f"lendbridge_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    use_database(monkeypatch, url)
    admin: Engine = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        out = invoke(runner, "init", "--demo")
        assert "created the database" in out
        first = snapshot(url)
        assert first[0].entries > 10
        invoke(runner, "init", "--demo")
        assert snapshot(url) == first
        invoke(runner, "ledger", "check")
        data = json.loads(invoke(runner, "ledger", "trial-balance", "--json"))
        assert all(t["balanced"] for t in data["totals"])
        assert invoke(runner, "ledger", "export").count(" * ") == first[0].entries
    finally:
        get_settings.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_init_refuses_to_change_an_existing_account(runner, sqlite_url):
    invoke(runner, "init")
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_account SET name = 'Renamed' WHERE code = '1002.001'"))
    engine.dispose()
    out = invoke(runner, "init", code=1)
    assert "error" in out
    assert "1002.001" in out


def test_keys_rotate_rewraps_personal_data_under_the_new_key(
    runner, sqlite_url, tmp_path, monkeypatch
):
    monkeypatch.delenv("LENDBRIDGE_MASTER_KEYS", raising=False)
    monkeypatch.setenv("LENDBRIDGE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    invoke(runner, "init", "--demo")  # the embedded default generates var/master-keys.json
    assert (tmp_path / "var" / "master-keys.json").exists()
    assert "added k2" in invoke(runner, "keys", "add")
    invoke(runner, "keys", "activate", "k2")
    assert "complete" in invoke(runner, "keys", "rotate")
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            phones = (
                conn.execute(
                    text("SELECT phone_cipher FROM identity_user WHERE phone_cipher IS NOT NULL")
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert phones
    assert all(p.startswith("v1.k2.") for p in phones)
    invoke(runner, "keys", "retire", "k1")
    # Everything still decrypts without k1: the demo reads its users' TOTP secrets back.
    assert "demo.admin" in invoke(runner, "init", "--demo")
