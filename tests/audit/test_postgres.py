"""PostgreSQL: the database itself refuses to change or remove audit records, and concurrent
writers on real threads still produce one gap-free, verifiable order."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lendbridge.audit import service
from lendbridge.audit.schemas import Reason
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import make_session_factory, unit_of_work
from tests.audit.factories import CLERK, head, seqs, tamper, write

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_engine):
    write(pg_engine, 5)
    return pg_engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_record SET actor_id = 'x' WHERE seq = 2",
        "UPDATE audit_record SET actor_id = 'x' WHERE seq = 999",  # even matching nothing
        "DELETE FROM audit_record WHERE seq = 5",
        "TRUNCATE audit_record",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head",
        "UPDATE audit_chain_head SET seq = 1",
    ],
)
def test_the_database_refuses_changes(pg, statement):
    with pg.connect() as conn, pytest.raises(DBAPIError, match=r"append-only|only moves forward"):
        conn.execute(text(statement))
    assert seqs(pg) == [1, 2, 3, 4, 5]
    assert service.verify(pg).ok


def test_tampering_as_a_replica_session_is_still_caught(pg):
    """A superuser can switch the triggers off for a session; the chain still shows it."""
    tamper(pg, "UPDATE audit_record SET after = CAST(:a AS json) WHERE seq = 3", a='{"i":99}')
    found = service.verify(pg).problem
    assert found is not None
    assert (found.seq, found.reason) == (3, Reason.CONTENT_ALTERED)
    tamper(pg, "DELETE FROM audit_record WHERE seq = 2")
    found = service.verify(pg).problem
    assert found is not None
    assert (found.seq, found.reason) == (2, Reason.GAP)


def test_order_is_commit_order_not_record_order(pg_engine):
    factory = make_session_factory(pg_engine)
    first, second = factory(), factory()
    try:
        service.record(first, CLERK, action="first.recorded", target_type="t")
        first.flush()
        service.record(second, CLERK, action="second.recorded", target_type="t")
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    with Session(pg_engine) as session:
        page = service.list_records(session)
    assert [(r.seq, r.action) for r in page.items] == [
        (1, "second.recorded"),
        (2, "first.recorded"),
    ]


def test_records_are_sealed_inside_the_commit(pg_engine):
    factory = make_session_factory(pg_engine)
    with factory() as session:
        service.record(session, CLERK, action="a.one", target_type="t")
        first = session.info.pop(service.PENDING)
        service.record(session, CLERK, action="a.two", target_type="t")
        # Two requests in one transaction are merged and sealed once, in order.
        service._seal_postgres(session, first)
        with pg_engine.connect() as other:
            assert other.execute(text("SELECT count(*) FROM audit_record")).scalar_one() == 0
        session.commit()
    with pg_engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, action FROM audit_record ORDER BY seq")).all()
        assert [tuple(r) for r in rows] == [(1, "a.one"), (2, "a.two")]
        assert conn.execute(text("SELECT count(*) FROM audit_seal_request")).scalar_one() == 0
    assert service.verify(pg_engine).ok


def test_concurrent_writers_make_one_gap_free_verifiable_order(pg_engine):
    threads, transactions = 8, 40
    factory = make_session_factory(pg_engine)
    barrier = threading.Barrier(threads)
    committed: dict[str, int] = defaultdict(int)

    def writer(n: int) -> None:
        rng = random.Random(n)
        actor = Actor(user_id=f"writer-{n}", roles=("clerk",))
        barrier.wait(timeout=30)
        counter = 0
        for t in range(transactions):
            size = rng.randint(1, 3)
            try:
                with unit_of_work(factory) as session:
                    for _ in range(size):
                        service.record(
                            session,
                            actor,
                            action="test.write",
                            target_type="thread",
                            target_id=str(n),
                            after={"n": counter},
                        )
                        counter += 1
                    if t % 7 == 3:
                        raise RuntimeError("rolled back on purpose")
            except RuntimeError:
                counter -= size
                continue
            committed[actor.user_id or ""] += size

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(writer, range(threads)))

    total = sum(committed.values())
    assert total > threads * transactions
    assert seqs(pg_engine) == list(range(1, total + 1))
    report = service.verify(pg_engine, batch_size=100)
    assert report.ok, report.problem
    assert report.checked == total
    assert head(pg_engine) == (total, report.head_hash)
    # Each writer's records appear in the order it wrote them, with none of the rolled-back.
    with pg_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor_id, (after->>'n')::int FROM audit_record ORDER BY seq")
        ).all()
    per_writer: dict[str, list[int]] = defaultdict(list)
    for actor_id, n in rows:
        per_writer[actor_id].append(n)
    assert {k: len(v) for k, v in per_writer.items()} == dict(committed)
    assert all(v == list(range(len(v))) for v in per_writer.values())
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_seal_request")).scalar_one() == 0
