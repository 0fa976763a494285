"""verify() names the first record whose content or link was altered, a removed record, a
head that does not match, and a chain rewritten past its exported anchors."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lendbridge.audit import service
from lendbridge.audit.chain import record_hash
from lendbridge.audit.schemas import Anchor, Reason
from lendbridge.audit.verify import chain_rows
from lendbridge.kit import calendar
from lendbridge.kit.db import unit_of_work
from tests.audit.factories import head, tamper, write


@pytest.fixture
def chain(engine, session_factory):
    """Ten records on 2026-01-15 and ten on 2026-01-16, three per transaction."""
    write(session_factory, 10, per_transaction=3)
    with unit_of_work(session_factory) as session:
        calendar.set_business_date(session, dt.date(2026, 1, 16))
    write(session_factory, 10, per_transaction=3)
    return engine


def problem(engine, **kwargs):
    report = service.verify(engine, **kwargs)
    assert not report.ok
    assert report.problem is not None
    return report.problem


def rehash(engine, seq: int) -> None:
    """Recompute one record's hash from its stored fields, as a forger would."""
    with engine.connect() as conn:
        (row,) = next(chain_rows(conn, seq, seq, 1))
    digest = record_hash(seq, row[1], *row[3:])
    tamper(engine, "UPDATE audit_record SET hash = :h WHERE seq = :s", h=digest, s=seq)


def test_an_intact_chain_verifies(chain):
    report = service.verify(chain, batch_size=7)
    assert report.ok
    assert (report.checked, report.from_seq, report.to_seq, report.complete) == (20, 1, 20, True)
    assert (report.head_seq, report.head_hash) == head(chain)
    assert report.problem is None


def test_an_empty_chain_verifies(engine):
    report = service.verify(engine)
    assert report.ok
    assert (report.checked, report.head_seq, report.complete) == (0, 0, True)


def test_altered_content_is_named(chain):
    tamper(chain, "UPDATE audit_record SET actor_id = 'someone-else' WHERE seq = 7")
    found = problem(chain)
    assert (found.seq, found.reason) == (7, Reason.CONTENT_ALTERED)
    assert "record 7" in found.detail


def test_altered_json_values_are_named(chain):
    tamper(chain, "UPDATE audit_record SET after = :a WHERE seq = 6", a='{"i":5,"status":"void"}')
    assert (problem(chain).seq, problem(chain).reason) == (6, Reason.CONTENT_ALTERED)


def test_altered_time_is_named(chain):
    tamper(
        chain, "UPDATE audit_record SET business_date = :d WHERE seq = 12", d=dt.date(2026, 1, 1)
    )
    assert (problem(chain).seq, problem(chain).reason) == (12, Reason.CONTENT_ALTERED)


def test_a_rehashed_record_breaks_the_next_link(chain):
    tamper(chain, "UPDATE audit_record SET target_id = 'forged' WHERE seq = 4")
    rehash(chain, 4)
    found = problem(chain)
    assert (found.seq, found.reason) == (5, Reason.LINK_BROKEN)


def test_a_rewritten_link_is_named(chain):
    tamper(chain, "UPDATE audit_record SET prev_hash = :h WHERE seq = 9", h="ab" * 32)
    found = problem(chain)
    assert (found.seq, found.reason) == (9, Reason.LINK_BROKEN)


def test_a_deleted_record_is_a_gap(chain):
    tamper(chain, "DELETE FROM audit_record WHERE seq = 3")
    found = problem(chain, batch_size=4)
    assert (found.seq, found.reason) == (3, Reason.GAP)
    assert "missing" in found.detail


def test_deleted_records_at_the_end_are_caught_by_the_head(chain):
    tamper(chain, "DELETE FROM audit_record WHERE seq >= 19")
    report = service.verify(chain)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.reason) == (19, Reason.GAP)
    assert report.to_seq == 18


def test_a_head_that_disagrees_is_named(chain):
    tamper(chain, "UPDATE audit_chain_head SET hash = :h", h="cd" * 32)
    found = problem(chain)
    assert (found.seq, found.reason) == (20, Reason.HEAD_MISMATCH)


def test_records_written_around_the_service_are_named(chain):
    tamper(
        chain,
        "INSERT INTO audit_record (seq, recorded_at, business_date, action, target_type,"
        " prev_hash, hash) SELECT 21, recorded_at, business_date, 'x.y', 't', hash, hash"
        " FROM audit_record WHERE seq = 20",
    )
    assert problem(chain).reason == Reason.CONTENT_ALTERED
    rehash(chain, 21)  # well forged: linked and hashed, but the head was not moved
    found = problem(chain)
    assert (found.seq, found.reason) == (21, Reason.HEAD_MISMATCH)


def test_partial_verification(chain):
    report = service.verify(chain, from_seq=5, limit=6)
    assert report.ok
    assert (report.from_seq, report.to_seq, report.checked, report.complete) == (5, 10, 6, False)
    tamper(chain, "UPDATE audit_record SET action = 'x.forged' WHERE seq = 12")
    assert service.verify(chain, from_seq=1, limit=11).ok
    assert problem(chain, from_seq=11, limit=5).seq == 12
    # From the middle, the link to the record before from_seq is still checked.
    tamper(chain, "UPDATE audit_record SET prev_hash = :h WHERE seq = 15", h="ef" * 32)
    assert problem(chain, from_seq=15).reason == Reason.LINK_BROKEN
    end = service.verify(chain, from_seq=21)
    assert (end.ok, end.checked, end.complete) == (True, 0, True)


def test_verify_runs_in_the_callers_session(chain):
    with Session(chain) as session:
        assert service.verify(session).ok


def test_anchors_pin_the_chain_even_if_it_is_rewritten_whole(chain, session_factory):
    tenth = _hash_of(chain, 10)
    with session_factory() as session:
        out = io.StringIO()
        # The business date is 2026-01-16: only the closed day 2026-01-15 is exported.
        assert service.export_anchors(session, out) == 1
        everything = io.StringIO()
        assert service.export_anchors(session, everything, to_day=dt.date(2026, 1, 16)) == 2
        assert service.anchor(session, dt.date(2026, 1, 15)) == Anchor(
            business_date=dt.date(2026, 1, 15), last_seq=10, hash=tenth
        )
    kept = service.read_anchors(everything.getvalue().splitlines())
    assert [(a.business_date.day, a.last_seq) for a in kept] == [(15, 10), (16, 20)]
    assert service.read_anchors(out.getvalue().splitlines()) == kept[:1]

    report = service.verify(chain, anchors=kept)
    assert (report.ok, report.anchors_checked) == (True, 2)

    # A forger with database superuser rights rewrites record 2 and rehashes every record
    # after it: the chain is consistent again, the anchors are not.
    tamper(chain, "UPDATE audit_record SET actor_id = 'nobody' WHERE seq = 2")
    for seq in range(2, 21):
        rehash(chain, seq)
        if seq < 20:
            tamper(
                chain,
                "UPDATE audit_record SET prev_hash = (SELECT hash FROM audit_record"
                " WHERE seq = :s) WHERE seq = :n",
                s=seq,
                n=seq + 1,
            )
    tamper(chain, "UPDATE audit_chain_head SET hash = :h", h=_hash_of(chain, 20))
    assert service.verify(chain).ok
    found = service.verify(chain, anchors=kept).problem
    assert found is not None
    assert (found.seq, found.reason) == (10, Reason.ANCHOR_MISMATCH)


def test_an_anchor_past_the_end_means_records_were_removed(chain):
    ghost = Anchor(business_date=dt.date(2026, 1, 17), last_seq=25, hash="aa" * 32)
    found = service.verify(chain, anchors=[ghost]).problem
    assert found is not None
    assert (found.seq, found.reason) == (25, Reason.ANCHOR_MISMATCH)


def test_anchor_of_a_day_without_records_is_the_previous_head(chain, session_factory):
    with session_factory() as session:
        assert service.anchor(session, dt.date(2026, 2, 1)).last_seq == 20
        assert service.anchor(session, dt.date(2025, 1, 1)).last_seq == 0


def test_malformed_anchor_lines_are_named():
    with pytest.raises(ValueError, match="line 2"):
        service.read_anchors(
            ['{"business_date":"2026-01-15","last_seq":1,"hash":"' + "a" * 64 + '"}', "{"]
        )


def _hash_of(engine, seq: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT hash FROM audit_record WHERE seq = :s"), {"s": seq}
        ).scalar_one()
