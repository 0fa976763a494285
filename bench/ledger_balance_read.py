"""Reads on an account with a long history: ``service.balance`` now, ``balance(as_of=...)``
and statement pages, on an account with 1,000,000 postings.

The history is loaded with generated SQL (fast: the fixture is not what is measured): one
million entries, each a posting on the hot account (two thirds debits, one third credits)
and its counterpart on one of 1,000 other accounts, 1,000 postings a day over 1,000 business
days. The loader fills ledger_entry, ledger_posting (with balance_after as the running
balance in booking order), the ledger_account totals and the ledger_account_day buckets;
it runs as a replica session so the per-entry commit-time triggers do not fire, and then
everything is recomputed from the postings and compared.

    .venv/bin/python bench/ledger_balance_read.py            # 1,000,000 postings
    .venv/bin/python bench/ledger_balance_read.py --quick    # 20,000 postings
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

import benchlib
from lendbridge.kit.db import make_engine, make_session_factory
from lendbridge.ledger import service

HOT = "hot.0001"
COUNTERPARTS = 1_000
PER_DAY = 1_000
TARGET_BALANCE_P99_MS = 2.0

LOAD_SQL = """
SET LOCAL session_replication_role = replica;
INSERT INTO ledger_entry (id, idempotency_key, request_hash, effective_date, created_at,
                          description, metadata, posting_count)
SELECT md5('e' || i)::uuid, 'load-' || i, md5('h' || i) || md5('g' || i),
       :last_day - ((:n - i) / :per_day)::int,
       timestamptz '2026-01-15 00:00:00+00' - make_interval(secs => (:n - i)),
       'load ' || i, '{}'::json, 2
  FROM generate_series(1, :n) AS i;

INSERT INTO ledger_posting (entry_id, line, account_id, currency, side, amount,
                            effective_date, balance_after)
SELECT md5('e' || i)::uuid, line, account_id, 'CNY', side, amount,
       :last_day - ((:n - i) / :per_day)::int,
       sum(CASE WHEN side = normal_side THEN amount ELSE -amount END)
           OVER (PARTITION BY account_id ORDER BY i, line)
  FROM (
    SELECT g.i, x.line, x.account_id, x.side, (g.i % 9973) + 1 AS amount, a.normal_side
      FROM generate_series(1, :n) AS g(i)
      CROSS JOIN LATERAL (VALUES
          (0, :hot_id, CASE WHEN g.i % 3 = 0 THEN 'credit' ELSE 'debit' END),
          (1, :first_cp + (g.i % :cps), CASE WHEN g.i % 3 = 0 THEN 'debit' ELSE 'credit' END)
      ) AS x(line, account_id, side)
      JOIN ledger_account a ON a.id = x.account_id
  ) AS p
 ORDER BY i, line;

UPDATE ledger_account a
   SET debits_posted = t.d, credits_posted = t.c
  FROM (SELECT account_id,
               coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS d,
               coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS c
          FROM ledger_posting GROUP BY account_id) t
 WHERE a.id = t.account_id;

INSERT INTO ledger_account_day (account_id, day, debits, credits)
SELECT account_id, effective_date,
       coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0),
       coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
  FROM ledger_posting GROUP BY account_id, effective_date;
"""

CHECKS = {
    "entries that do not balance or have a wrong count": """
        SELECT count(*) FROM (
          SELECT e.id FROM ledger_entry e JOIN ledger_posting p ON p.entry_id = e.id
          GROUP BY e.id, e.posting_count
          HAVING sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) <> 0
              OR count(*) <> e.posting_count) x""",
    "accounts whose totals differ from their postings": """
        SELECT count(*) FROM ledger_account a LEFT JOIN (
          SELECT account_id, sum(amount) FILTER (WHERE side = 'debit') d,
                 sum(amount) FILTER (WHERE side = 'credit') c
            FROM ledger_posting GROUP BY account_id) p ON p.account_id = a.id
         WHERE a.debits_posted <> coalesce(p.d, 0) OR a.credits_posted <> coalesce(p.c, 0)""",
    "accounts whose day buckets differ from their totals": """
        SELECT count(*) FROM ledger_account a LEFT JOIN (
          SELECT account_id, sum(debits) d, sum(credits) c
            FROM ledger_account_day GROUP BY account_id) p ON p.account_id = a.id
         WHERE a.debits_posted <> coalesce(p.d, 0) OR a.credits_posted <> coalesce(p.c, 0)""",
    "postings whose balance_after is not the running balance in id order": """
        SELECT count(*) FROM (
          SELECT p.balance_after,
                 sum(CASE WHEN p.side = a.normal_side THEN p.amount ELSE -p.amount END)
                   OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
            FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id) x
         WHERE balance_after <> running""",
}


def load(engine: Engine, postings: int) -> dict[str, Any]:
    benchlib.open_accounts(engine, COUNTERPARTS, 0)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_account (code, name, type, normal_side, currency, status, "
                "debits_posted, credits_posted, debits_pending, credits_pending, created_at, "
                "updated_at) VALUES (:c, :c, 'asset', 'debit', 'CNY', 'open', 0, 0, 0, 0, "
                "now(), now())"
            ),
            {"c": HOT},
        )
        hot_id = conn.execute(
            text("SELECT id FROM ledger_account WHERE code = :c"), {"c": HOT}
        ).scalar_one()
        first_cp = conn.execute(
            text("SELECT min(id) FROM ledger_account WHERE code LIKE 'cust.%'")
        ).scalar_one()
    t0 = time.perf_counter()
    params = {
        "n": postings,
        "per_day": PER_DAY,
        "last_day": benchlib.TODAY,
        "hot_id": hot_id,
        "first_cp": first_cp,
        "cps": COUNTERPARTS,
    }
    with engine.begin() as conn:
        for statement in LOAD_SQL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)
    load_s = time.perf_counter() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    t0 = time.perf_counter()
    with engine.connect() as conn:
        checks = {name: conn.execute(text(sql)).scalar_one() for name, sql in CHECKS.items()}
        hot_postings = conn.execute(
            text("SELECT count(*) FROM ledger_posting WHERE account_id = :i"), {"i": hot_id}
        ).scalar_one()
    return {
        "load_seconds": load_s,
        "verify_seconds": time.perf_counter() - t0,
        "checks": checks,
        "hot_postings": hot_postings,
    }


def timed(call: Callable[[], Any], iterations: int, warmup: int = 50) -> dict[str, float]:
    for _ in range(warmup):
        call()
    samples = []
    perf = time.perf_counter
    for _ in range(iterations):
        t0 = perf()
        call()
        samples.append(perf() - t0)
    return benchlib.latency_summary(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--postings", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=None)
    args = parser.parse_args()
    postings = args.postings or (20_000 if args.quick else 1_000_000)
    iterations = args.iterations or (200 if args.quick else 5_000)
    print(f"== ledger_balance_read: reads on a long account ({benchlib.command_line()})")
    info = benchlib.print_machine()
    results: dict[str, Any] = {"machine": info, "command": benchlib.command_line()}
    with benchlib.ledger_database("read") as url:
        engine = make_engine(url, pool_size=2)
        fixture = load(engine, postings)
        results["fixture"] = fixture
        print(
            f"loaded {fixture['hot_postings']} postings on {HOT} in {fixture['load_seconds']:.1f}"
            f" s; recomputed in {fixture['verify_seconds']:.1f} s:"
        )
        for name, bad in fixture["checks"].items():
            print(f"  {name}: {bad}")
        if any(fixture["checks"].values()):
            raise SystemExit("the fixture is inconsistent")
        factory = make_session_factory(engine)
        days = postings // PER_DAY
        mid = benchlib.TODAY - dt.timedelta(days=days // 2)
        with factory() as session:
            page = service.statement(session, HOT, limit=50)
            deep = service.statement(session, HOT, limit=1)
            # a cursor half way through the history
            middle_id = session.execute(
                text(
                    "SELECT id FROM ledger_posting WHERE account_id = "
                    "(SELECT id FROM ledger_account WHERE code = :c) ORDER BY id "
                    "OFFSET :o LIMIT 1"
                ),
                {"c": HOT, "o": fixture["hot_postings"] // 2},
            ).scalar_one()
        del page, deep
        from lendbridge.ledger.service.reads import encode_cursor

        middle = encode_cursor(middle_id)

        def in_session(fn: Callable[[Any], Any]) -> Callable[[], Any]:
            def call() -> Any:
                with factory() as session:
                    return fn(session)

            return call

        cases = {
            "balance(code)": in_session(lambda s: service.balance(s, HOT)),
            f"balance(code, as_of={mid})": in_session(lambda s: service.balance(s, HOT, as_of=mid)),
            "statement first page (50 lines)": in_session(
                lambda s: service.statement(s, HOT, limit=50)
            ),
            "statement page at mid-history cursor (50 lines)": in_session(
                lambda s: service.statement(s, HOT, cursor=middle, limit=50)
            ),
        }
        print(f"each read in its own session, {iterations} iterations after 50 warm-up:")
        reads = {}
        for name, call in cases.items():
            r = timed(call, iterations)
            reads[name] = r
            extra = ""
            if name == "balance(code)":
                extra = (
                    f"  target p99 < {TARGET_BALANCE_P99_MS} ms "
                    f"{benchlib.verdict(r['p99_ms'] < TARGET_BALANCE_P99_MS)}"
                )
            print(
                f"  {name:<50} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
                f"mean {r['mean_ms']:.3f} ms{extra}"
            )
        results["reads"] = reads
        engine.dispose()
    print(benchlib.loadavg())
    path = benchlib.save("ledger_balance_read", results)
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
