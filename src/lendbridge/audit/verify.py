"""Walk the hash chain and name the first record that was altered, removed or relinked.

Records are read in seq order, one range of ``batch_size`` sequence numbers per query (an
index range scan on the primary key, so memory stays constant and a page costs the same at
any depth). For each record the verifier checks, in order:

* ``gap``: its seq follows the previous one (a deleted record leaves a hole);
* ``link_broken``: its ``prev_hash`` equals the previous record's stored hash (a record
  replaced with a recomputed hash breaks the next link);
* ``content_altered``: the SHA-256 of its canonical serialization equals its stored hash;
* ``anchor_mismatch``: if an exported daily anchor names it, the anchor's hash is its hash.

At the end, the head row must name the last record and its hash (``head_mismatch``, or
``gap`` when records at the end were deleted). The head and the last seq are read first, in
one statement, so records committed while the walk runs are outside it rather than false
alarms; given an ``Engine``, the walk also runs in one REPEATABLE READ snapshot on
PostgreSQL.

On PostgreSQL the rows come straight from psycopg with the timestamp already in canonical
text (``to_char`` runs in the server process, on the other core) and before/after as their
stored JSON text, so the per-record Python work is two string formats and two SHA-256.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, Engine, Text, select, text, type_coerce
from sqlalchemy.orm import Session

from lendbridge.audit.chain import content_text, link_text, timestamp_text
from lendbridge.audit.models import GENESIS_HASH, HEAD_ID, AuditRecord
from lendbridge.audit.schemas import Anchor, Finding, Reason, VerifyReport

__all__ = ["Finding", "Reason", "VerifyReport", "verify"]

BATCH = 20_000

_HEAD = text(
    f"SELECT (SELECT seq FROM audit_chain_head WHERE id = {HEAD_ID}),"
    f" (SELECT hash FROM audit_chain_head WHERE id = {HEAD_ID}),"
    " (SELECT max(seq) FROM audit_record)"
)

_PG_PAGE = """
SELECT seq, prev_hash, hash,
       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
       to_char(business_date, 'YYYY-MM-DD'), actor_id, actor_role, client_address,
       request_id, device_id, action, target_type, target_id, before::text, after::text
  FROM audit_record WHERE seq BETWEEN %s AND %s ORDER BY seq
"""

Row = tuple[Any, ...]


def verify(
    source: Session | Engine | Connection,
    *,
    from_seq: int = 1,
    limit: int | None = None,
    anchors: Iterable[Anchor] = (),
    batch_size: int = BATCH,
) -> VerifyReport:
    """Recompute the chain from ``from_seq`` (``limit`` records at most, all by default)
    and report the first problem. Starting past 1 trusts the stored hash of the record
    before ``from_seq`` as the link to check against."""
    if from_seq < 1:
        raise ValueError("from_seq starts at 1")
    if isinstance(source, Engine):
        with source.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            try:
                return _verify(connection, from_seq, limit, list(anchors), batch_size)
            finally:
                connection.rollback()
    connection = source.connection() if isinstance(source, Session) else source
    return _verify(connection, from_seq, limit, list(anchors), batch_size)


def _verify(
    connection: Connection,
    from_seq: int,
    limit: int | None,
    anchors: list[Anchor],
    batch_size: int,
) -> VerifyReport:
    began = time.perf_counter()
    head_seq, head_hash, max_seq = connection.execute(_HEAD).one()
    head_seq = 0 if head_seq is None else int(head_seq)
    head_hash = GENESIS_HASH if head_hash is None else head_hash
    last_seq = 0 if max_seq is None else int(max_seq)
    end = last_seq if limit is None else min(last_seq, from_seq + limit - 1)
    expected_anchor = {a.last_seq: a for a in anchors if a.last_seq > 0}

    def report(to_seq: int, complete: bool, problem: Finding | None = None) -> VerifyReport:
        return VerifyReport(
            ok=problem is None,
            checked=max(0, to_seq - from_seq + 1),
            from_seq=from_seq,
            to_seq=to_seq,
            complete=complete,
            head_seq=head_seq,
            head_hash=head_hash,
            anchors_checked=sum(1 for s in expected_anchor if from_seq <= s <= to_seq),
            elapsed_ms=round((time.perf_counter() - began) * 1000),
            problem=problem,
        )

    prev_hash = GENESIS_HASH
    if from_seq > 1:
        stored = connection.execute(
            select(AuditRecord.hash).where(AuditRecord.seq == from_seq - 1)
        ).scalar_one_or_none()
        if stored is None and from_seq - 1 <= last_seq:
            return report(
                from_seq - 1,
                False,
                Finding(seq=from_seq - 1, reason=Reason.GAP, detail=_missing(from_seq - 1)),
            )
        prev_hash = stored or GENESIS_HASH

    expected = from_seq
    for page in chain_rows(connection, from_seq, end, batch_size):
        for row in page:
            seq = row[0]
            if seq != expected:
                finding = Finding(seq=expected, reason=Reason.GAP, detail=_missing(expected))
                return report(expected - 1, False, finding)
            if row[1] != prev_hash:
                finding = Finding(
                    seq=seq,
                    reason=Reason.LINK_BROKEN,
                    detail=f"record {seq}'s prev_hash {row[1]} is not the hash {prev_hash} of "
                    f"record {seq - 1}: a record was replaced or a link rewritten",
                )
                return report(seq - 1, False, finding)
            digest = sha256(
                link_text(
                    seq,
                    row[1],
                    row[4],
                    sha256(content_text(row[3], *row[5:])).hexdigest(),
                )
            ).hexdigest()
            prev_hash = row[2]
            if digest != prev_hash:
                finding = Finding(
                    seq=seq,
                    reason=Reason.CONTENT_ALTERED,
                    detail=f"record {seq}'s content does not hash to its stored hash "
                    f"{prev_hash} (recomputed {digest}): its fields were altered",
                )
                return report(seq - 1, False, finding)
            if seq in expected_anchor and expected_anchor[seq].hash != prev_hash:
                a = expected_anchor[seq]
                finding = Finding(
                    seq=seq,
                    reason=Reason.ANCHOR_MISMATCH,
                    detail=f"the anchor of {a.business_date.isoformat()} says record {seq} "
                    f"hashes to {a.hash}, the chain says {prev_hash}: the chain was rewritten",
                )
                return report(seq - 1, False, finding)
            expected += 1

    checked_to = expected - 1
    if checked_to < end:
        finding = Finding(seq=expected, reason=Reason.GAP, detail=_missing(expected))
        return report(checked_to, False, finding)
    if end < last_seq:
        return report(checked_to, False)  # a partial walk (limit): no verdict on the end
    problem = _check_end(last_seq, prev_hash, head_seq, head_hash)
    if problem is None:
        problem = _check_anchors_exist(expected_anchor, last_seq)
    return report(checked_to, True, problem)


def _missing(seq: int) -> str:
    return f"record {seq} is missing: the sequence jumps over it (deleted?)"


def _check_end(last_seq: int, last_hash: str, head_seq: int, head_hash: str) -> Finding | None:
    if head_seq > last_seq:
        return Finding(
            seq=last_seq + 1,
            reason=Reason.GAP,
            detail=f"records {last_seq + 1}..{head_seq} are missing: the chain head is at "
            f"{head_seq} but the last record is {last_seq} (deleted?)",
        )
    if head_seq < last_seq:
        return Finding(
            seq=head_seq + 1,
            reason=Reason.HEAD_MISMATCH,
            detail=f"records {head_seq + 1}..{last_seq} lie beyond the chain head "
            f"({head_seq}): written around the audit service, or the head was set back",
        )
    if head_hash != last_hash:
        return Finding(
            seq=head_seq,
            reason=Reason.HEAD_MISMATCH,
            detail=f"the chain head says record {head_seq} hashes to {head_hash}, the "
            f"record says {last_hash}",
        )
    return None


def _check_anchors_exist(expected: dict[int, Anchor], last_seq: int) -> Finding | None:
    beyond = [a for seq, a in sorted(expected.items()) if seq > last_seq]
    if not beyond:
        return None
    a = beyond[0]
    return Finding(
        seq=a.last_seq,
        reason=Reason.ANCHOR_MISMATCH,
        detail=f"the anchor of {a.business_date.isoformat()} names record {a.last_seq}, "
        f"past the end of the chain ({last_seq}): records were removed",
    )


def chain_rows(connection: Connection, first: int, last: int, batch: int) -> Iterator[list[Row]]:
    """Records ``first``..``last`` in seq order, a page of ``batch`` seqs at a time, as
    ``(seq, prev_hash, hash, recorded_at, business_date, *the rest of chain.content_text's
    arguments in order)``, the timestamp, date and JSON values in their canonical text."""
    if connection.dialect.name == "postgresql":
        return _pg_rows(connection, first, last, batch)
    return _core_rows(connection, first, last, batch)


def _pg_rows(connection: Connection, start: int, end: int, batch: int) -> Iterator[list[Row]]:
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        for low in range(start, end + 1, batch):
            cursor.execute(_PG_PAGE, (low, min(end, low + batch - 1)))
            yield cursor.fetchall()


def _core_rows(connection: Connection, start: int, end: int, batch: int) -> Iterator[list[Row]]:
    r = AuditRecord
    stmt = select(
        r.seq,
        r.prev_hash,
        r.hash,
        r.recorded_at,
        r.business_date,
        r.actor_id,
        r.actor_role,
        r.client_address,
        r.request_id,
        r.device_id,
        r.action,
        r.target_type,
        r.target_id,
        # The stored text as hashed, not the JSON type's parsed value.
        type_coerce(r.before, Text),
        type_coerce(r.after, Text),
    ).order_by(r.seq)
    for low in range(start, end + 1, batch):
        page = connection.execute(stmt.where(r.seq.between(low, min(end, low + batch - 1))))
        yield [(*row[:3], timestamp_text(row[3]), row[4].isoformat(), *row[5:]) for row in page]
