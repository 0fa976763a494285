"""PostgreSQL refuses what the service never does: unbalanced entries (at commit, by a
deferred constraint trigger), postings added to an entry later, and any UPDATE, DELETE or
TRUNCATE of the journal."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import TODAY
from tests.ledger import factories as f

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_engine):
    with Session(pg_engine) as session:
        f.basic_chart(session)
        entry = f.transfer(session, "bank", "wallet", 100)
        session.commit()
        ids = dict(session.execute(text("SELECT code, id FROM ledger_account")).all())
    return pg_engine, ids, entry.id


def insert_entry(conn, entry_id, postings, declared):
    conn.execute(
        text(
            "INSERT INTO ledger_entry (id, request_hash, effective_date, created_at, description,"
            " metadata, posting_count) VALUES (:id, 'x', :d, now(), '', '{}', :n)"
        ),
        {"id": entry_id, "d": TODAY, "n": declared},
    )
    for line, (account_id, side, amount) in enumerate(postings):
        conn.execute(
            text(
                "INSERT INTO ledger_posting (entry_id, line, account_id, currency, side, amount,"
                " effective_date, balance_after) VALUES (:e, :l, :a, 'CNY', :s, :m, :d, 0)"
            ),
            {"e": entry_id, "l": line, "a": account_id, "s": side, "m": amount, "d": TODAY},
        )


def test_unbalanced_entry_is_refused_at_commit(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 100), (ids["wallet"], "credit", 99)], 2
        )
        with pytest.raises(DBAPIError, match="does not balance"):
            conn.commit()


def test_entry_without_postings_is_refused_at_commit(pg):
    engine, _, _ = pg
    with engine.connect() as conn:
        insert_entry(conn, uuid.uuid4(), [], 0)
        with pytest.raises(DBAPIError, match="has 0 postings"):
            conn.commit()


def test_entry_missing_a_declared_posting_is_refused_at_commit(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5)], 3
        )
        with pytest.raises(DBAPIError, match="has 2 postings, declared 3"):
            conn.commit()


def test_balanced_raw_entry_is_accepted(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5)], 2
        )
        conn.commit()


def test_posting_cannot_join_an_entry_committed_earlier(pg):
    engine, ids, entry_id = pg
    with (
        engine.connect() as conn,
        pytest.raises(DBAPIError, match="transaction that creates it"),
    ):
        conn.execute(
            text(
                "INSERT INTO ledger_posting (entry_id, line, account_id, currency, side,"
                " amount, effective_date, balance_after)"
                " VALUES (:e, 9, :a, 'CNY', 'debit', 1, :d, 0)"
            ),
            {"e": entry_id, "a": ids["bank"], "d": TODAY},
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET description = 'edited'",
        "DELETE FROM ledger_entry",
        "UPDATE ledger_posting SET amount = amount + 1",
        "DELETE FROM ledger_posting",
        "TRUNCATE ledger_posting CASCADE",
        "TRUNCATE ledger_entry CASCADE",
    ],
)
def test_journal_is_append_only(pg, statement):
    engine, _, _ = pg
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))


def test_balance_limit_check_constraint_backs_the_service(pg):
    engine, _ids, _ = pg
    with engine.connect() as conn, pytest.raises(DBAPIError, match="balance_limit"):
        conn.execute(
            text(
                "UPDATE ledger_account SET debits_posted = credits_posted + 1 WHERE code = 'wallet'"
            )
        )


def insert_whole_entry(conn, entry_id, postings, declared):
    """The entry, then all its postings in one statement (as bulk posting does)."""
    conn.execute(
        text(
            "INSERT INTO ledger_entry (id, request_hash, effective_date, created_at, description,"
            " metadata, posting_count) VALUES (:id, 'x', :d, now(), '', '{}', :n)"
        ),
        {"id": entry_id, "d": TODAY, "n": declared},
    )
    conn.execute(
        text(
            "INSERT INTO ledger_posting (entry_id, line, account_id, currency, side, amount,"
            " effective_date, balance_after) VALUES (:e, :l, :a, 'CNY', :s, :m, :d, 0)"
        ),
        [
            {"e": entry_id, "l": line, "a": a, "s": s, "m": m, "d": TODAY}
            for line, (a, s, m) in enumerate(postings)
        ],
    )


def test_entry_complete_in_one_statement_but_unbalanced_is_refused_at_commit(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_whole_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 10), (ids["wallet"], "credit", 9)], 2
        )
        with pytest.raises(DBAPIError, match="does not balance"):
            conn.commit()


def test_entry_that_never_gets_its_postings_is_refused_at_commit(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_whole_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5)], 2
        )
        missing = uuid.uuid4()
        insert_entry(conn, missing, [], 2)
        with pytest.raises(DBAPIError, match=f"journal entry {missing} has 0 postings, declared 2"):
            conn.commit()


def test_a_posting_line_outside_its_entry_is_refused(pg):
    engine, ids, _ = pg
    with engine.connect() as conn, pytest.raises(DBAPIError, match="outside the lines"):
        insert_whole_entry(
            conn,
            uuid.uuid4(),
            [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5), (ids["bank"], "debit", 1)],
            2,
        )


def test_postings_cannot_outnumber_the_entry_across_statements(pg):
    """Lines are unique and within the declared count: a third posting has no line left."""
    engine, ids, _ = pg
    entry_id = uuid.uuid4()
    with engine.connect() as conn:
        insert_whole_entry(
            conn, entry_id, [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5)], 2
        )
        with pytest.raises(DBAPIError, match="uq_ledger_posting_entry_id_line"):
            conn.execute(
                text(
                    "INSERT INTO ledger_posting (entry_id, line, account_id, currency, side,"
                    " amount, effective_date, balance_after)"
                    " VALUES (:e, 1, :a, 'CNY', 'debit', 1, :d, 0)"
                ),
                {"e": entry_id, "a": ids["bank"], "d": TODAY},
            )


def test_a_posting_to_a_missing_account_or_currency_is_refused(pg):
    engine, ids, _ = pg
    with engine.connect() as conn, pytest.raises(DBAPIError, match="no account 999999"):
        insert_whole_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 5), (999999, "credit", 5)], 2
        )


def test_entries_of_a_rolled_back_savepoint_are_not_counted(pg):
    engine, ids, _ = pg
    with engine.connect() as conn:
        insert_whole_entry(
            conn, uuid.uuid4(), [(ids["bank"], "debit", 5), (ids["wallet"], "credit", 5)], 2
        )
        savepoint = conn.begin_nested()
        insert_entry(conn, uuid.uuid4(), [(ids["bank"], "debit", 5)], 2)  # incomplete
        savepoint.rollback()
        conn.commit()
