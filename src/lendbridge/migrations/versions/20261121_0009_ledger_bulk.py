"""PostgreSQL: ledger guards that cost per statement, not per entry, for bulk posting.

The guards of revision 0002 keep their promises (every entry of a transaction has its
declared number of postings, at least two, and balances in every currency when the
transaction commits; postings join only entries of their own transaction and accounts of their
currency), but the commit-time check no longer visits every new entry:

* a posting's line must lie in ``0 .. posting_count - 1`` of its entry. With the unique
  ``(entry_id, line)`` key an entry can then never hold more postings than it declares;
* the statement-level trigger on ``ledger_posting`` groups the statement's new postings by
  entry in one pass (one index look-up per entry instead of one per posting, and one per
  posting for its account and currency). An entry whose postings all arrive in one statement
  is complete there, and is checked for balance there, once and for good: no posting can be
  added to it later. Any other entry (postings spread over statements, several currencies,
  or not balanced) is listed for the commit check;
* ``ledger_commit_check`` counts the postings the transaction's entries declare and the
  postings it inserted. Since no entry can hold more than it declares, equal counts mean every
  entry is complete. At commit the deferred trigger compares the two counts and checks the
  listed entries in full (as before), instead of every entry of the transaction.

A bulk transaction of 20,000 entries used to spend ~0.1 s at commit re-reading every entry's
postings; now the commit check reads one row. ``ledger_post_entry()`` (migration 0003) goes
through the same triggers and needs no change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = r"""
-- entry_ids now lists only the entries to check in full at commit.
ALTER TABLE ledger_commit_check
    ADD COLUMN declared bigint NOT NULL DEFAULT 0,
    ADD COLUMN inserted bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION ledger_record_new_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Entries declaring fewer than two postings are refused at commit by the full check.
    INSERT INTO ledger_commit_check AS c (txid, entry_ids, declared, inserted)
    SELECT txid_current(),
           coalesce(array_agg(id) FILTER (WHERE posting_count IS NULL OR posting_count < 2), '{}'),
           coalesce(sum(posting_count), 0), 0
      FROM new_entries HAVING count(*) > 0
    ON CONFLICT (txid) DO UPDATE
        SET entry_ids = c.entry_ids || excluded.entry_ids,
            declared = c.declared + excluded.declared;
    RETURN NULL;
END $$;

-- Transition tables have no statistics; without the SET clauses the planner may hash-join
-- them against a sequential scan of the whole journal (or JIT-compile the query because
-- the disabled plans look expensive). Index nested loops cost a few microseconds per new
-- posting whatever the journal's size. One pass over the new postings checks everything.
CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    this_txid bigint := txid_current();
    foreign_entry uuid;
    line_entry uuid;
    line_no int;
    to_check uuid[];
    total bigint;
    unknown_accounts bigint;
    bad record;
BEGIN
    SELECT (array_agg(p.entry_id) FILTER (
                WHERE e.id IS NULL OR e.created_txid IS DISTINCT FROM this_txid))[1],
           (array_agg(p.entry_id) FILTER (WHERE p.lo < 0 OR p.hi >= e.posting_count))[1],
           (array_agg(CASE WHEN p.lo < 0 THEN p.lo ELSE p.hi END)
                FILTER (WHERE p.lo < 0 OR p.hi >= e.posting_count))[1],
           array_agg(p.entry_id) FILTER (
                WHERE p.n <> e.posting_count OR e.posting_count < 2 OR p.suspect),
           sum(p.n), sum(p.n - p.known)
      INTO foreign_entry, line_entry, line_no, to_check, total, unknown_accounts
      FROM (SELECT np.entry_id, count(*) AS n, count(a.id) AS known,
                   min(np.line) AS lo, max(np.line) AS hi,
                   -- more than one currency, or unbalanced: checked in full at commit
                   min(np.currency) <> max(np.currency)
                   OR sum(CASE WHEN np.side = 'debit' THEN np.amount ELSE -np.amount END) <> 0
                   AS suspect
              FROM new_postings np
              LEFT JOIN ledger_account a ON a.id = np.account_id AND a.currency = np.currency
             GROUP BY np.entry_id) p
      LEFT JOIN ledger_entry e ON e.id = p.entry_id;
    IF foreign_entry IS NOT NULL THEN
        RAISE EXCEPTION 'postings can only be added to an entry in the transaction that '
            'creates it (entry %)', foreign_entry
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_entry';
    END IF;
    IF line_entry IS NOT NULL THEN
        RAISE EXCEPTION 'posting line % is outside the lines of journal entry % (0 to its '
            'posting_count - 1)', line_no, line_entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_posting_line';
    END IF;
    IF unknown_accounts > 0 THEN
        SELECT np.account_id, np.currency INTO bad
          FROM new_postings np
         WHERE NOT EXISTS (SELECT 1 FROM ledger_account a
                            WHERE a.id = np.account_id AND a.currency = np.currency)
         LIMIT 1;
        RAISE EXCEPTION 'no account % in currency %', bad.account_id, bad.currency
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_account';
    END IF;
    UPDATE ledger_commit_check
       SET inserted = inserted + coalesce(total, 0),
           entry_ids = CASE WHEN to_check IS NULL THEN entry_ids ELSE entry_ids || to_check END
     WHERE txid = this_txid;
    IF NOT FOUND THEN
        -- One statement inserting entries and their postings (data-modifying CTEs) may run
        -- this trigger before the entries' one.
        INSERT INTO ledger_commit_check AS c (txid, entry_ids, declared, inserted)
        VALUES (this_txid, coalesce(to_check, '{}'), 0, coalesce(total, 0))
        ON CONFLICT (txid) DO UPDATE
            SET inserted = c.inserted + excluded.inserted,
                entry_ids = c.entry_ids || excluded.entry_ids;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_transaction_entries() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off SET jit = off
AS $$
DECLARE
    c record;
    bad record;
BEGIN
    SELECT entry_ids, declared, inserted INTO c FROM ledger_commit_check WHERE txid = NEW.txid;
    -- The listed entries, in full: postings spread over statements, unbalanced entries,
    -- entries in several currencies, entries declaring fewer than two postings.
    IF cardinality(c.entry_ids) > 0 THEN
        SELECT e.id, e.posting_count, coalesce(p.lines, 0) AS lines, p.unbalanced
          INTO bad
          FROM (SELECT DISTINCT id FROM unnest(c.entry_ids) AS ids(id)) listed
          JOIN ledger_entry e ON e.id = listed.id
          LEFT JOIN LATERAL (
              SELECT sum(n) AS lines, min(currency) FILTER (WHERE net <> 0) AS unbalanced
                FROM (SELECT currency, count(*) AS n,
                             sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) AS net
                        FROM ledger_posting WHERE entry_id = e.id GROUP BY currency) per_currency
          ) p ON true
         WHERE p.unbalanced IS NOT NULL OR coalesce(p.lines, 0) < 2
            OR coalesce(p.lines, 0) <> e.posting_count
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
    END IF;
    IF c.declared <> c.inserted THEN
        -- No entry holds more postings than it declares, so some entry holds fewer. Name one
        -- (a scan of the journal, on this failure path only).
        SET LOCAL enable_seqscan = on;
        SELECT e.id, e.posting_count,
               (SELECT count(*) FROM ledger_posting p WHERE p.entry_id = e.id) AS lines
          INTO bad
          FROM ledger_entry e
         WHERE e.created_txid = NEW.txid
           AND e.posting_count <> (SELECT count(*) FROM ledger_posting p WHERE p.entry_id = e.id)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entry % has % postings, declared %', bad.id, bad.lines,
                bad.posting_count
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
        END IF;
        RAISE EXCEPTION 'the journal entries of this transaction declare % postings, % were added',
            c.declared, c.inserted
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
    END IF;
    DELETE FROM ledger_commit_check WHERE txid = NEW.txid;
    RETURN NULL;
END $$;
"""

# The functions exactly as revision 0002 created them.
DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION ledger_record_new_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_commit_check (txid, entry_ids)
    SELECT txid_current(), array_agg(id) FROM new_entries HAVING count(*) > 0
    ON CONFLICT (txid) DO UPDATE
        SET entry_ids = ledger_commit_check.entry_ids || excluded.entry_ids;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_transaction_entries() RETURNS trigger
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

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
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

ALTER TABLE ledger_commit_check DROP COLUMN declared, DROP COLUMN inserted;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
