"""Single journal entries, each its own database transaction, through the service layer,
against pgbench's TPC-B-like transaction on the same server in the same run.

Workload: 10,000 customer wallets and 10 bank accounts; every entry moves a random amount
between a random customer and a random bank account (deposit or withdrawal), two postings,
with an idempotency key. One of ten hot bank rows per transaction mirrors pgbench at scale
10, where every transaction updates one of ten ``pgbench_branches`` rows.

    .venv/bin/python bench/ledger_write.py            # 15 s per phase
    .venv/bin/python bench/ledger_write.py --quick    # smoke run, ~2 s per phase
    .venv/bin/python bench/ledger_write.py --profile  # also cProfile the 1-client path
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import io
import multiprocessing
import os
import pstats
import random
import statistics
import threading
import time
from typing import Any

from sqlalchemy import make_url

import benchlib
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.ledger import service
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn

CUSTOMERS = 10_000
BANKS = 10
WARMUP = 200
TARGET_1 = 0.80
TARGET_8 = 0.60


# The ledger's own statements for one entry, driven by pgbench with no Python in the loop:
# what the database alone costs for this schema (triggers, indexes, the day bucket), as a
# second reference. Same shape as the service's transaction (lock both accounts in id order,
# read the business date, look the idempotency key up, insert entry and postings, update
# totals, upsert day buckets) but one round trip per statement where the service pipelines.
# Account ids: customers are 1..CUSTOMERS and banks follow (opened in that order).
LEDGER_SQL = """\\set c random(1, {customers})
\\set b random({first_bank}, {last_bank})
\\set amt random(1, 100000)
\\set dir random(0, 1)
\\set cd :amt * :dir
\\set cc :amt - :cd
\\set k random(1, 1000000000)
BEGIN;
SELECT id, code, currency, normal_side, status, min_balance, debits_posted, credits_posted,
 debits_pending, credits_pending FROM ledger_account WHERE id = ANY(ARRAY[:c, :b]::bigint[])
 ORDER BY id FOR UPDATE;
SELECT business_date FROM platform_business_date WHERE id = 1;
SELECT idempotency_key, id, request_hash FROM ledger_entry
 WHERE idempotency_key = ANY(ARRAY['k' || :k || '.' || :client_id]);
INSERT INTO ledger_entry (id, idempotency_key, request_hash, effective_date, created_at,
 description, metadata, posting_count) VALUES (gen_random_uuid(), 'k' || :k || '.' || :client_id,
 md5(random()::text) || md5(random()::text), '{day}', now(), 'bench transfer', '{{}}', 2)
 RETURNING id AS eid \\gset
INSERT INTO ledger_posting (entry_id, line, account_id, currency, side, amount,
 effective_date, balance_after) VALUES
 (:eid, 0, :c, 'CNY', CASE WHEN :dir = 1 THEN 'debit' ELSE 'credit' END, :amt, '{day}', 0),
 (:eid, 1, :b, 'CNY', CASE WHEN :dir = 1 THEN 'credit' ELSE 'debit' END, :amt, '{day}', 0);
UPDATE ledger_account AS a SET debits_posted = a.debits_posted + v.d,
 credits_posted = a.credits_posted + v.c, updated_at = now()
 FROM (VALUES (:c::bigint, :cd::bigint, :cc::bigint), (:b, :cc, :cd)) AS v(id, d, c)
 WHERE a.id = v.id;
INSERT INTO ledger_account_day (account_id, day, debits, credits) VALUES
 (:c, '{day}', :cd, :cc), (:b, '{day}', :cc, :cd)
 ON CONFLICT (account_id, day) DO UPDATE SET debits = ledger_account_day.debits
 + excluded.debits, credits = ledger_account_day.credits + excluded.credits;
COMMIT;
"""


# The service's own path without Python: one call of the ledger's database function
# (migration 0003) between BEGIN and COMMIT, its request built in SQL, driven by pgbench. The
# ceiling of the service on this schema: what the database alone needs for each entry.
FUNCTION_SQL = """\\set c random(0, {last_customer})
\\set b random(0, {last_bank_index})
\\set amt random(1, 100000)
\\set dir random(0, 1)
\\set k random(1, 1000000000)
BEGIN;
SELECT ledger_post_entry(json_build_object('id', gen_random_uuid(), 'k', 'f' || :k::text || '.' ||
 :client_id::text, 'h', md5(random()::text) || md5(random()::text), 'd', NULL, 'c', now(), 'ds',
 'bench transfer', 'm', '{{}}'::json, 'et', NULL, 'ei', NULL, 'p', json_build_array(
 json_build_array('cust.' || lpad(:c::text, 6, '0'),
  CASE WHEN :dir::int = 1 THEN 'debit' ELSE 'credit' END, :amt::bigint, 'CNY'),
 json_build_array('bank.' || lpad(:b::text, 2, '0'),
  CASE WHEN :dir::int = 1 THEN 'credit' ELSE 'debit' END, :amt::bigint, 'CNY'))));
COMMIT;
"""


def function_sql_script() -> str:
    return FUNCTION_SQL.format(last_customer=CUSTOMERS - 1, last_bank_index=BANKS - 1)


def ledger_sql_script() -> str:
    return LEDGER_SQL.format(
        customers=CUSTOMERS,
        first_bank=CUSTOMERS + 1,
        last_bank=CUSTOMERS + BANKS,
        day=benchlib.TODAY.isoformat(),
    )


def make_entry(rng: random.Random) -> EntryIn:
    customer = benchlib.customer_code(rng.randrange(CUSTOMERS))
    bank = benchlib.bank_code(rng.randrange(BANKS))
    amount = rng.randint(1, 100_000)
    if rng.random() < 0.5:  # deposit: bank debit, wallet credit
        debit, credit = bank, customer
    else:  # withdrawal
        debit, credit = customer, bank
    return EntryIn(
        postings=[
            PostingIn(account=debit, side=Side.DEBIT, amount=amount, currency="CNY"),
            PostingIn(account=credit, side=Side.CREDIT, amount=amount, currency="CNY"),
        ],
        description="bench transfer",
    )


def drive(
    url: str,
    tag: str,
    seconds: float,
    seed: int,
    factory: Any = None,
    warmup: int = WARMUP,
    barrier: Any = None,
) -> tuple[int, list[float], float]:
    """Warm up, wait for the other clients, then post entries back to back for ``seconds``:
    (count, latencies, elapsed). Timed per entry: build the request, open a unit of work,
    post_entry, commit."""
    engine = None
    if factory is None:
        engine = make_engine(url, pool_size=1)
        factory = make_session_factory(engine)
    rng = random.Random(seed)
    n = 0
    try:
        for _ in range(warmup):  # prepared statements, pool, caches
            with unit_of_work(factory) as session:
                service.post_entry(session, make_entry(rng), idempotency_key=f"{tag}-w{n}")
            n += 1
        if barrier is not None:  # every client warmed up: start together
            barrier.wait()
        latencies: list[float] = []
        perf = time.perf_counter
        cpu0 = time.process_time()
        began = perf()
        deadline = began + seconds
        while True:
            t0 = perf()
            if t0 >= deadline:
                break
            request = make_entry(rng)
            with unit_of_work(factory) as session:
                service.post_entry(session, request, idempotency_key=f"{tag}-{n}")
            latencies.append(perf() - t0)
            n += 1
        elapsed = perf() - began
        global LAST_CPU_SECONDS
        LAST_CPU_SECONDS = time.process_time() - cpu0
        return len(latencies), latencies, elapsed
    finally:
        if engine is not None:
            engine.dispose()


_BARRIER: Any = None
LAST_CPU_SECONDS = 0.0  # client CPU time of the last drive() (this process)


def _init_worker(barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier


def _process_worker(args: tuple[str, str, float, int, int]) -> tuple[int, list[float], float]:
    url, tag, seconds, seed, warmup = args
    return drive(url, tag, seconds, seed, warmup=warmup, barrier=_BARRIER)


def one_client(url: str, seconds: float, tag: str = "c1", warmup: int = WARMUP) -> dict[str, Any]:
    count, latencies, elapsed = drive(url, tag, seconds, seed=1, warmup=warmup)
    return {
        "client_cpu_ms_per_entry": LAST_CPU_SECONDS * 1000 / max(count, 1),
        "clients": 1,
        "entries": count,
        "seconds": elapsed,
        "eps": count / elapsed,
        **benchlib.latency_summary(latencies),
    }


def many_processes(
    url: str, clients: int, seconds: float, tag: str = "p", warmup: int = WARMUP
) -> dict[str, Any]:
    # fork: the children inherit the imported modules (a spawn re-imports them, seconds per
    # process on a small machine); each child makes its own engine after the fork.
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(clients)
    jobs = [(url, f"{tag}{i}", seconds, 100 + i, warmup) for i in range(clients)]
    with concurrent.futures.ProcessPoolExecutor(
        clients, mp_context=ctx, initializer=_init_worker, initargs=(barrier,)
    ) as pool:
        results = list(pool.map(_process_worker, jobs))
    return _combine(results, clients, "processes")


def many_threads(url: str, clients: int, seconds: float, tag: str = "t") -> dict[str, Any]:
    engine = make_engine(url, pool_size=clients)
    factory = make_session_factory(engine)
    results: list[tuple[int, list[float], float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(i: int) -> None:
        out = drive(url, f"{tag}{i}", seconds, 200 + i, factory=factory, warmup=50, barrier=barrier)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    return _combine(results, clients, "threads")


def _combine(
    results: list[tuple[int, list[float], float]], clients: int, how: str
) -> dict[str, Any]:
    count = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results)
    latencies = [x for r in results for x in r[1]]
    return {
        "clients": clients,
        "how": how,
        "entries": count,
        "seconds": elapsed,
        "eps": count / elapsed,
        **benchlib.latency_summary(latencies),
    }


def profile_one_client(url: str, entries: int) -> str:
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    rng = random.Random(7)
    for i in range(WARMUP):
        with unit_of_work(factory) as session:
            service.post_entry(session, make_entry(rng), idempotency_key=f"prof-w{i}")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(entries):
        request = make_entry(rng)
        with unit_of_work(factory) as session:
            service.post_entry(session, request, idempotency_key=f"prof-{i}")
    profiler.disable()
    engine.dispose()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    path = benchlib.OUT_DIR / "ledger_write_profile.txt"
    benchlib.OUT_DIR.mkdir(exist_ok=True)
    path.write_text(buffer.getvalue())
    stats.dump_stats(str(benchlib.OUT_DIR / "ledger_write.pstats"))
    return buffer.getvalue()


def fmt(r: dict[str, Any]) -> str:
    cpu = r.get("client_cpu_ms_per_entry")
    return (
        f"{r['eps']:8.0f} entries/s  mean {r['mean_ms']:.2f} ms  p50 {r['p50_ms']:.2f} ms  "
        f"p99 {r['p99_ms']:.2f} ms  ({r['entries']} entries in {r['seconds']:.1f} s"
        + (f"; client CPU {cpu:.2f} ms/entry)" if cpu is not None else ")")
    )


def pair_rounds(
    label: str,
    rounds: int,
    reference: Any,
    ledger_sql: Any,
    ours: Any,
    target: float,
) -> dict[str, Any]:
    """Alternate pgbench TPC-B, the ledger's SQL under pgbench, and the ledger service
    ``rounds`` times (a shared machine's load drifts; alternating exposes all three to the
    same drift); report each round and the totals."""
    per_round = []
    for r in range(rounds):
        pg = reference()
        sql = ledger_sql()
        lb = ours(r)
        ratio = lb["eps"] / pg["tps"]
        per_round.append({"pgbench": pg, "ledger_sql": sql, "ledger": lb, "ratio": ratio})
        print(
            f"  round {r + 1}: pgbench TPC-B {pg['tps']:7.0f} tps (mean "
            f"{pg['latency_mean_ms']:.2f} ms) | ledger SQL via pgbench {sql['tps']:7.0f} tps "
            f"(mean {sql['latency_mean_ms']:.2f} ms)\n           lendbridge {fmt(lb)} | "
            f"ratio {ratio:.2f}"
        )
    pg_tps = statistics.fmean(x["pgbench"]["tps"] for x in per_round)
    sql_tps = statistics.fmean(x["ledger_sql"]["tps"] for x in per_round)
    lb_eps = sum(x["ledger"]["entries"] for x in per_round) / sum(
        x["ledger"]["seconds"] for x in per_round
    )
    latencies_mean = statistics.fmean(x["ledger"]["mean_ms"] for x in per_round)
    p99 = max(x["ledger"]["p99_ms"] for x in per_round)
    ratio = lb_eps / pg_tps
    print(
        f"{label}: lendbridge {lb_eps:.0f} entries/s (mean {latencies_mean:.2f} ms, p99 "
        f"{p99:.2f} ms) vs pgbench TPC-B {pg_tps:.0f} tps -> ratio {ratio:.2f} (target >= "
        f"{target:.2f}) {benchlib.verdict(ratio >= target)}; vs the ledger's SQL under "
        f"pgbench {sql_tps:.0f} tps -> {lb_eps / sql_tps:.2f}"
    )
    return {
        "rounds": per_round,
        "pgbench_tps": pg_tps,
        "ledger_sql_tps": sql_tps,
        "ledger_eps": lb_eps,
        "ledger_mean_ms": latencies_mean,
        "ledger_p99_ms_worst_round": p99,
        "ratio": ratio,
        "ratio_to_ledger_sql": lb_eps / sql_tps,
        "target": target,
        "pass": ratio >= target,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--seconds", type=int, default=None, help="per phase (default 15)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate pgbench/ledger N times")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="cProfile the 1-client path")
    parser.add_argument("--no-threads", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (2 if args.quick else 15)
    clients = args.clients
    warmup = 30 if args.quick else WARMUP
    print(f"== ledger_write: single entries, one transaction each ({benchlib.command_line()})")
    info = benchlib.print_machine()
    results: dict[str, Any] = {
        "machine": info,
        "seconds": seconds,
        "command": benchlib.command_line(),
    }
    with benchlib.pgbench_database(scale=10) as pgdb, benchlib.ledger_database("write") as url:
        engine = make_engine(url, pool_size=1)
        benchlib.open_accounts(engine, CUSTOMERS, BANKS)
        engine.dispose()
        ledger_db = make_url(url).database
        script = ledger_sql_script()
        print(f"-- 1 client ({seconds} s per phase, {args.rounds} round(s))")
        results["one_client"] = pair_rounds(
            "1 client",
            args.rounds,
            lambda: benchlib.run_pgbench(pgdb, 1, 1, seconds),
            lambda: benchlib.run_pgbench(ledger_db, 1, 1, seconds, script=script),
            lambda r: one_client(url, seconds, tag=f"c1r{r}", warmup=warmup),
            TARGET_1,
        )
        print(
            f"-- {clients} clients: ledger in {clients} OS processes; pgbench -j {min(clients, 2)}"
        )
        results["n_clients"] = pair_rounds(
            f"{clients} clients",
            args.rounds,
            lambda: benchlib.run_pgbench(pgdb, clients, min(clients, 2), seconds),
            lambda: benchlib.run_pgbench(
                ledger_db, clients, min(clients, 2), seconds, script=script
            ),
            lambda r: many_processes(url, clients, seconds, tag=f"p{r}-", warmup=warmup),
            TARGET_8,
        )
        # Where the database spends its time in one entry: pgbench's per-statement latencies
        # for the ledger's SQL, one client.
        breakdown = benchlib.run_pgbench(
            ledger_db, 1, 1, min(seconds, 5), script=script, per_statement=True
        )
        print(
            f"-- the ledger's SQL under pgbench, 1 client, {breakdown['tps']:.0f} tps; mean "
            "latency per statement (ms):"
        )
        for ms, sql in breakdown["statements_ms"]:
            print(f"  {ms:7.3f}  {sql[:90]}")
        results["ledger_sql_statements_ms"] = breakdown["statements_ms"]
        # The ceiling of the service's own path: its database function under pgbench.
        function = function_sql_script()
        ceiling = {}
        for n, key in ((1, "one_client"), (clients, "n_clients")):
            run = benchlib.run_pgbench(ledger_db, n, min(n, 2), seconds, script=function)
            tpcb = results[key]["pgbench_tps"]
            ceiling[key] = {"tps": run["tps"], "ratio_to_tpcb": run["tps"] / tpcb}
            print(
                f"-- the ledger's function under pgbench (no Python), {n} client(s): "
                f"{run['tps']:.0f} tps (mean {run['latency_mean_ms']:.2f} ms) = "
                f"{run['tps'] / tpcb:.2f}x pgbench TPC-B; lendbridge reaches "
                f"{results[key]['ledger_eps'] / run['tps']:.2f}x of it"
            )
        results["function_under_pgbench"] = ceiling
        if not (args.no_threads or args.quick):
            lbt = many_threads(url, clients, seconds)
            ref = results["n_clients"]["pgbench_tps"]
            print(
                f"ledger {clients} threads in one process (GIL-bound, for information): "
                f"{fmt(lbt)}  ratio {lbt['eps'] / ref:.2f}"
            )
            results["n_threads"] = lbt
        if args.profile:
            text = profile_one_client(url, 300 if args.quick else 3000)
            print("-- cProfile, 1 client, top functions by cumulative time:")
            print("\n".join(text.splitlines()[:45]))
    print(benchlib.loadavg())
    path = benchlib.save("ledger_write", results)
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
