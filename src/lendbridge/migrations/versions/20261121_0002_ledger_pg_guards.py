"""PostgreSQL guards for the ledger: entries balance at commit, postings join only entries of
their own transaction and accounts of their currency, the journal is append-only.

The Python service already refuses all of this; these triggers make the database refuse it
too, whoever writes. They are set-based so that bulk posting stays fast:

* a statement-level trigger on ``ledger_posting`` (with a transition table) checks every new
  posting's entry and (account, currency) in one join per statement — it replaces the two
  row-by-row foreign keys of the posting table, which cost one lookup per posting;
* a statement-level trigger on ``ledger_entry`` records the transaction's new entries in
  ``ledger_commit_check``; a deferred constraint trigger on that row checks, once per
  transaction at commit, that every one of them has its declared number (at least two) of
  postings and balances in every currency, then deletes the row.

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

-- Account totals and day buckets are updated in place on every posting. Free space on each
-- page lets PostgreSQL make those updates HOT (no indexed column changes), so they write no
-- index entries and leave no index bloat.
ALTER TABLE ledger_account SET (fillfactor = 50);
ALTER TABLE ledger_account_day SET (fillfactor = 70);
ALTER TABLE ledger_posting DROP CONSTRAINT fk_ledger_posting_entry_id_ledger_entry;
ALTER TABLE ledger_posting DROP CONSTRAINT fk_ledger_posting_account_id_ledger_account;

-- Rows live only inside the transaction that writes entries: unlogged is enough.
CREATE UNLOGGED TABLE ledger_commit_check (
    txid bigint PRIMARY KEY,
    entry_ids uuid[] NOT NULL
);

CREATE FUNCTION ledger_record_new_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_commit_check (txid, entry_ids)
    SELECT txid_current(), array_agg(id) FROM new_entries HAVING count(*) > 0
    ON CONFLICT (txid) DO UPDATE
        SET entry_ids = ledger_commit_check.entry_ids || excluded.entry_ids;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_entry_record_new
    AFTER INSERT ON ledger_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_record_new_entries();

CREATE FUNCTION ledger_check_transaction_entries() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.id, e.posting_count, coalesce(p.lines, 0) AS lines, p.unbalanced
      INTO bad
      FROM ledger_commit_check c
      CROSS JOIN LATERAL unnest(c.entry_ids) AS ids(id)
      JOIN ledger_entry e ON e.id = ids.id
      LEFT JOIN LATERAL (
          SELECT sum(n) AS lines, min(currency) FILTER (WHERE net <> 0) AS unbalanced
            FROM (SELECT currency, count(*) AS n,
                         sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) AS net
                    FROM ledger_posting WHERE entry_id = e.id GROUP BY currency) per_currency
      ) p ON true
     WHERE c.txid = NEW.txid
       AND (p.unbalanced IS NOT NULL OR coalesce(p.lines, 0) < 2
            OR coalesce(p.lines, 0) <> e.posting_count)
     LIMIT 1;
    IF FOUND THEN
        IF bad.unbalanced IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance in %', bad.id, bad.unbalanced
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
        END IF;
        RAISE EXCEPTION 'journal entry % has % postings, declared %', bad.id, bad.lines,
            bad.posting_count
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
    END IF;
    DELETE FROM ledger_commit_check WHERE txid = NEW.txid;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_commit_check
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_entries();

-- Transition tables have no statistics; without the SET clauses the planner may hash-join
-- them against a sequential scan of the whole journal. Index nested loops cost a few
-- microseconds per new row whatever the journal's size.
CREATE FUNCTION ledger_check_new_postings() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
AS $$
DECLARE
    this_txid bigint := txid_current();
    bad record;
BEGIN
    SELECT p.entry_id INTO bad
      FROM new_postings p
      LEFT JOIN ledger_entry e ON e.id = p.entry_id
     WHERE e.id IS NULL OR e.created_txid IS DISTINCT FROM this_txid
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings can only be added to an entry in the transaction that '
            'creates it (entry %)', bad.entry_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_entry';
    END IF;
    SELECT p.account_id, p.currency INTO bad
      FROM new_postings p
     WHERE NOT EXISTS (SELECT 1 FROM ledger_account a
                        WHERE a.id = p.account_id AND a.currency = p.currency)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no account % in currency %', bad.account_id, bad.currency
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_account';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_posting_check_new
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_new_postings();

-- Append-only journal: corrections are reversal entries, never edits. Accounts are closed,
-- never deleted (postings refer to them).
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
CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_account_no_truncate BEFORE TRUNCATE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DOWNGRADE = r"""
ALTER TABLE ledger_account RESET (fillfactor);
ALTER TABLE ledger_account_day RESET (fillfactor);
DROP TRIGGER IF EXISTS ledger_account_no_truncate ON ledger_account;
DROP TRIGGER IF EXISTS ledger_account_no_delete ON ledger_account;
DROP TRIGGER IF EXISTS ledger_posting_no_truncate ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_posting_check_new ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_check_new_postings();
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_commit_check;
DROP FUNCTION IF EXISTS ledger_check_transaction_entries();
DROP TRIGGER IF EXISTS ledger_entry_record_new ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_record_new_entries();
DROP TABLE IF EXISTS ledger_commit_check;
ALTER TABLE ledger_posting ADD CONSTRAINT fk_ledger_posting_account_id_ledger_account
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency);
ALTER TABLE ledger_posting ADD CONSTRAINT fk_ledger_posting_entry_id_ledger_entry
    FOREIGN KEY (entry_id) REFERENCES ledger_entry (id);
ALTER TABLE ledger_entry ALTER COLUMN created_txid DROP DEFAULT;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
