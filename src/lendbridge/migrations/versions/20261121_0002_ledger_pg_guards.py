"""PostgreSQL guards for the ledger: entries balance at commit, the journal is append-only.

The Python service already refuses unbalanced entries and never updates or deletes journal
rows; these triggers make the database refuse them too, whoever writes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = r"""
ALTER TABLE ledger_entry ALTER COLUMN created_txid SET DEFAULT txid_current();

-- At commit, each entry created in the transaction must have its declared number of
-- postings (at least two) and balance in every currency.
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lines bigint;
    unbalanced text;
BEGIN
    SELECT sum(n), min(currency) FILTER (WHERE net <> 0)
      INTO lines, unbalanced
      FROM (SELECT currency, count(*) AS n,
                   sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) AS net
              FROM ledger_posting WHERE entry_id = NEW.id GROUP BY currency) per_currency;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
    END IF;
    IF coalesce(lines, 0) < 2 OR lines <> NEW.posting_count THEN
        RAISE EXCEPTION 'journal entry % has % postings, declared %', NEW.id,
            coalesce(lines, 0), NEW.posting_count
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

-- Postings may only join an entry created in the same transaction, so the commit-time
-- check above has seen every posting an entry will ever have.
CREATE FUNCTION ledger_check_posting_same_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_postings p JOIN ledger_entry e ON e.id = p.entry_id
                WHERE e.created_txid IS DISTINCT FROM txid_current()) THEN
        RAISE EXCEPTION 'postings can only be added to an entry in the transaction that creates it'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_closed';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_posting_same_transaction
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_posting_same_transaction();

-- Append-only journal: corrections are reversal entries, never edits.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (post a reversal instead)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS ledger_posting_no_truncate ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_posting_same_transaction ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_check_posting_same_transaction();
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
ALTER TABLE ledger_entry ALTER COLUMN created_txid DROP DEFAULT;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
