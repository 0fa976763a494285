"""audit: the hash-chained audit trail and its chain head. On PostgreSQL the trail is
append-only (UPDATE, DELETE and TRUNCATE refused), the head never moves back or away, and a
transaction's records are sealed into the chain by a deferred trigger while it commits
(``audit_seal_request`` -> ``audit_seal()`` -> ``audit_append()``).

``audit_append`` locks the head row, reads the business date, numbers the records after the
head, computes each record's hash from its content digest (computed by the caller, see
``lendbridge/audit/chain.py``) and the previous hash::

    sha256('{"business_date":"D","content":"C","prev_hash":"P","seq":N}')

inserts them in one statement and moves the head. ``records`` is a JSON array of objects
(recorded_at, actor_id, actor_role, client_address, request_id, device_id, action,
target_type, target_id, and before/after as canonical JSON text), ``contents`` their digests
in the same order.

The head row is created here and, should it be missing (emptied tables), by the first
commit that writes records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lendbridge.kit.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

PG_UPGRADE = r"""
CREATE FUNCTION audit_append(records json, contents text[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    first_seq bigint;
    day date;
    day_text text;
    content text;
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF json_array_length(records) <> coalesce(cardinality(contents), 0) THEN
        RAISE EXCEPTION 'audit_append: % records but % content digests',
            json_array_length(records), coalesce(cardinality(contents), 0);
    END IF;
    SELECT h.seq, h.hash INTO head_seq, head_hash
      FROM audit_chain_head h WHERE h.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        -- Emptied tables: recreate the head; a concurrent creator's row is found by the
        -- second SELECT (ON CONFLICT waits for its transaction).
        INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        SELECT h.seq, h.hash INTO head_seq, head_hash
          FROM audit_chain_head h WHERE h.id = 1 FOR UPDATE;
    END IF;
    SELECT c.business_date INTO day FROM platform_business_date c WHERE c.id = 1;
    IF day IS NULL THEN
        RAISE EXCEPTION 'the business date is not initialised; run `lendbridge init`'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    day_text := to_char(day, 'YYYY-MM-DD');
    first_seq := head_seq + 1;
    FOREACH content IN ARRAY contents LOOP
        IF content !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'audit_append: % is not a SHA-256 hex digest', content;
        END IF;
        head_seq := head_seq + 1;
        prevs := prevs || head_hash;
        head_hash := encode(sha256(convert_to(
            '{"business_date":"' || day_text || '","content":"' || content
            || '","prev_hash":"' || head_hash || '","seq":' || head_seq || '}', 'UTF8')), 'hex');
        hashes := hashes || head_hash;
    END LOOP;
    INSERT INTO audit_record (seq, recorded_at, business_date, actor_id, actor_role,
        client_address, request_id, device_id, action, target_type, target_id, before, after,
        prev_hash, hash)
    SELECT first_seq + r.ord - 1, r.recorded_at, day, r.actor_id, r.actor_role,
           r.client_address, r.request_id, r.device_id, r.action, r.target_type, r.target_id,
           r.before::json, r.after::json, r.prev_hash, r.hash
      FROM ROWS FROM (
               json_to_recordset(records) AS (recorded_at timestamptz, actor_id text,
                   actor_role text, client_address text, request_id text, device_id text,
                   action text, target_type text, target_id text, before text, after text),
               unnest(prevs),
               unnest(hashes)
           ) WITH ORDINALITY AS r(recorded_at, actor_id, actor_role, client_address,
               request_id, device_id, action, target_type, target_id, before, after,
               prev_hash, hash, ord);
    UPDATE audit_chain_head SET seq = head_seq, hash = head_hash WHERE id = 1;
    RETURN head_seq;
END $$;

-- The head is updated on every commit that writes records: free space on its page keeps
-- those updates HOT.
ALTER TABLE audit_chain_head SET (fillfactor = 10);

-- Sealing at commit. The service inserts one request row per transaction just before COMMIT
-- (no lock taken); this deferred trigger seals it while the COMMIT runs, so the head row is
-- locked only from here to the end of the commit, with no client round trip in between.
-- Rows live only inside their transaction: unlogged is enough.
ALTER TABLE audit_seal_request SET UNLOGGED;

CREATE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    request record;
BEGIN
    -- Re-read the row: a second request of the same transaction was merged into it.
    DELETE FROM audit_seal_request WHERE txid = NEW.txid RETURNING records, contents
        INTO request;
    IF FOUND THEN
        PERFORM audit_append(request.records::json, string_to_array(request.contents, ','));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER audit_seal_at_commit
    AFTER INSERT ON audit_seal_request
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION audit_seal();

-- Append-only: an audit record is never changed or removed, whoever asks. Statement-level,
-- so even an UPDATE or DELETE matching no row is refused.
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The head moves forward only; removing it would restart numbering at 1 over the chain.
CREATE FUNCTION audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'audit_chain_head only moves forward (seq % to %)', OLD.seq, NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""

PG_DOWNGRADE = r"""
DROP TRIGGER IF EXISTS audit_seal_at_commit ON audit_seal_request;
DROP FUNCTION IF EXISTS audit_seal();
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head;
DROP TRIGGER IF EXISTS audit_chain_head_no_delete ON audit_chain_head;
DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_chain_head;
DROP FUNCTION IF EXISTS audit_head_forward_only();
DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_record;
DROP TRIGGER IF EXISTS audit_record_append_only ON audit_record;
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_append(json, text[]);
"""


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_seal_request",
        sa.Column("txid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("contents", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("txid", name=op.f("pk_audit_seal_request")),
    )
    op.create_table(
        "audit_record",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("recorded_at", lendbridge.kit.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("actor_id", sa.String(length=128), nullable=True),
        sa.Column("actor_role", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=True),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_record")),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index("ix_audit_record_action_seq", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_record_actor_seq", ["actor_id", "seq"], unique=False)
        batch_op.create_index(
            "ix_audit_record_business_date_seq", ["business_date", "seq"], unique=False
        )
        batch_op.create_index("ix_audit_record_recorded_at", ["recorded_at"], unique=False)
        batch_op.create_index(
            "ix_audit_record_target_seq", ["target_type", "target_id", "seq"], unique=False
        )
    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :genesis)").bindparams(
            genesis=GENESIS_HASH
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWNGRADE)
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_record_target_seq")
        batch_op.drop_index("ix_audit_record_recorded_at")
        batch_op.drop_index("ix_audit_record_business_date_seq")
        batch_op.drop_index("ix_audit_record_actor_seq")
        batch_op.drop_index("ix_audit_record_action_seq")
    op.drop_table("audit_record")
    op.drop_table("audit_seal_request")
    op.drop_table("audit_chain_head")
