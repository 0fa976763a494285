"""Bulk posting on PostgreSQL: the database's own guards stand behind the rows it copies,
concurrent writers on the same accounts, and migration 0009 in both directions."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import uuid_utils
from alembic import command
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lendbridge.kit import db
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.kit.migrate import alembic_config, upgrade
from lendbridge.ledger import bulk, service
from lendbridge.ledger.bulk import BulkEntry
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import AccountType
from tests.conftest import POSTGRES_URL, TODAY
from tests.ledger import factories as f

pytestmark = pytest.mark.postgres_only


def account_ids(session: Session) -> dict[str, int]:
    return {code: id_ for code, id_ in session.execute(text("SELECT code, id FROM ledger_account"))}


def copy_rows(session: Session, postings: list[tuple[str, str, int]], declared: int) -> None:
    """One entry straight through the COPY writer, past every Python check."""
    ids = account_ids(session)
    entry_id = uuid_utils.uuid7().bytes
    now = dt.datetime.now(dt.UTC)
    backend = bulk.PostgresBackend(db.postgres_connection(session))
    entry = backend.pack_entry(entry_id, None, "0" * 64, TODAY, now, "", "{}", None, None, declared)
    rows = [
        backend.pack_posting(entry_id, line, ids[code], "CNY", side, amount, TODAY, 0)
        for line, (code, side, amount) in enumerate(postings)
    ]
    backend.submit(backend.prepare([entry], rows, [], {}))
    backend.finish()


@pytest.fixture
def books(pg_engine):
    with Session(pg_engine) as session:
        f.basic_chart(session)
        session.commit()
    return pg_engine


def test_the_database_refuses_an_unbalanced_copied_entry_at_commit(books):
    with Session(books) as session:
        copy_rows(session, [("bank", "debit", 100), ("income", "credit", 99)], 2)
        with pytest.raises(DBAPIError, match="does not balance in CNY"):
            session.commit()


def test_the_database_refuses_a_copied_entry_missing_a_posting(books):
    with Session(books) as session:
        copy_rows(session, [("bank", "debit", 100), ("income", "credit", 100)], 3)
        with pytest.raises(DBAPIError, match="has 2 postings, declared 3"):
            session.commit()


def test_a_balanced_copied_entry_is_accepted(books):
    with Session(books) as session:
        copy_rows(session, [("bank", "debit", 100), ("income", "credit", 100)], 2)
        session.commit()


def test_bulk_and_single_entries_on_the_same_accounts_concurrently(books):
    """A one-chunk bulk call locks its accounts in primary-key order, like every other writer:
    concurrent single entries wait for it, never deadlock, and the books stay consistent."""
    factory = make_session_factory(books)
    with unit_of_work(factory) as session:
        for i in range(20):
            f.account(session, f"w{i:02d}", AccountType.LIABILITY)
    errors: list[BaseException] = []

    def bulk_call(n: int) -> None:
        try:
            with unit_of_work(factory) as session:
                service.post_bulk(
                    session,
                    (
                        BulkEntry(
                            [("bank", "debit", 1, "CNY"), (f"w{i % 20:02d}", "credit", 1, "CNY")],
                            f"b{n}-{i}",
                        )
                        for i in range(400)
                    ),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def singles(n: int) -> None:
        try:
            for i in range(15):
                with unit_of_work(factory) as session:
                    f.transfer(session, "bank", f"w{(i * 7 + n) % 20:02d}", 2, key=f"s{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bulk_call, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=singles, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with factory() as session:
        assert service.balance(session, "bank").balance == 2 * 400 + 3 * 15 * 2
        report = check_ledger(session)
        assert report.ok, report.mismatches


def test_migration_0009_down_and_up(postgres_engine):
    """Down to 0008 restores the guards of revision 0002; up again installs them anew. Run on
    a database of its own, stopped at revision 0009."""
    name = f"lendbridge_test_m9_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL or "").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL or "").set(database=name))
    try:
        upgrade(engine, "0009")

        def columns() -> set[str]:
            with engine.connect() as conn:
                return set(
                    conn.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns"
                            " WHERE table_name = 'ledger_commit_check'"
                        )
                    ).scalars()
                )

        assert {"declared", "inserted"} <= columns()
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
        assert columns() == {"txid", "entry_ids"}
        upgrade(engine, "0009")
        assert {"declared", "inserted"} <= columns()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
