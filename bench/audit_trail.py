"""The audit trail on PostgreSQL: append throughput and verification of 1,000,000 records.

Append: ``audit.service.record`` inside ``unit_of_work`` transactions, committed as a
service would (the records are sealed into the hash chain by the commit), for a fixed time
per workload: 1 record per transaction with 1 and 8 client processes, 100 records per
transaction with 1 and 8. The reference is the same transactions writing one plain row
each, no audit (the commit ceiling of this machine). Verification: the chain is grown to
1,000,000 records through the service in transactions of 10,000 (timed as bulk appends),
then ``lendbridge audit verify``'s function walks it all, in a child process whose peak
RSS is reported (memory must not grow with the chain).

    .venv/bin/python bench/audit_trail.py            # 10 s per workload, 1,000,000 records
    .venv/bin/python bench/audit_trail.py --quick    # 3 s per workload, 100,000 records
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import text

import benchlib
from lendbridge.audit import service
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work

TARGET_APPEND_PER_S = 5_000
TARGET_VERIFY_S = 60.0
MILLION = 1_000_000
BULK_PER_TRANSACTION = 10_000


def actor(n: int) -> Actor:
    return Actor(
        user_id=f"user-{n % 1000:04d}",
        roles=("clerk",),
        client_address=f"10.0.{n % 256}.{n % 200 + 1}",
        request_id=f"req-{n:012d}",
        device_id=f"device-{n % 97}",
    )


def record_one(session: Any, who: Actor, n: int) -> None:
    """A typical state change: a loan's status and amount, the borrower's phone masked."""
    service.record(
        session,
        who,
        action="origination.loan.approve",
        target_type="origination.loan",
        target_id=f"L{n:010d}",
        before={"status": "submitted", "amount": 500_000 + n % 1000, "phone": "138****5678"},
        after={"status": "approved", "amount": 500_000 + n % 1000, "phone": "138****5678"},
    )


def append_worker(args: tuple[str, str, int, float, float, int]) -> dict[str, Any]:
    """One client: transactions of ``per_txn`` records (or one plain row) until the end."""
    url, mode, per_txn, start_at, seconds, client = args
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    who = actor(client)
    latencies: list[float] = []
    written = 0
    n = client * 100_000_000
    # Warm up: connect, prepare the statements.
    with unit_of_work(factory) as session:
        if mode == "plain":
            session.execute(text("SELECT 1"))
    while time.time() < start_at:
        time.sleep(0.0005)
    end = start_at + seconds
    cpu0 = time.process_time()
    while time.time() < end:
        began = time.perf_counter()
        with unit_of_work(factory) as session:
            if mode == "plain":
                session.execute(
                    text("INSERT INTO bench_plain (payload) VALUES (:p)"), {"p": '{"n":1}'}
                )
            else:
                for _ in range(per_txn):
                    record_one(session, who, n)
                    n += 1
        latencies.append(time.perf_counter() - began)
        written += per_txn
    cpu = time.process_time() - cpu0
    engine.dispose()
    return {"written": written, "latencies": latencies, "cpu_s": cpu}


def run_append(url: str, mode: str, clients: int, per_txn: int, seconds: float) -> dict[str, Any]:
    start_at = time.time() + 1.5
    with mp.get_context("fork").Pool(clients) as pool:
        results = pool.map(
            append_worker,
            [(url, mode, per_txn, start_at, seconds, c) for c in range(clients)],
        )
    written = sum(r["written"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "mode": mode,
        "clients": clients,
        "records_per_transaction": per_txn,
        "seconds": seconds,
        "records": written,
        "transactions": len(latencies),
        "records_per_s": written / seconds,
        "transactions_per_s": len(latencies) / seconds,
        "latency": benchlib.latency_summary(latencies),
        "client_cpu_share": sum(r["cpu_s"] for r in results) / seconds / clients,
    }


def grow_chain(url: str, total: int) -> dict[str, Any]:
    """Bring the chain to ``total`` records through the service, 10,000 per transaction."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_record")).scalar_one()
    began = time.perf_counter()
    n = 0
    while have + n < total:
        batch = min(BULK_PER_TRANSACTION, total - have - n)
        with unit_of_work(factory) as session:
            for _ in range(batch):
                record_one(session, actor(n), n)
                n += 1
    elapsed = time.perf_counter() - began
    with engine.begin() as conn:
        conn.execute(text("ANALYZE audit_record"))
        size = conn.execute(
            text("SELECT pg_size_pretty(pg_total_relation_size('audit_record'))")
        ).scalar_one()
    engine.dispose()
    return {
        "records_added": n,
        "seconds": elapsed,
        "records_per_s": n / elapsed if elapsed else float("nan"),
        "table_size": size,
    }


def verify_child(url: str) -> None:
    """One verification of the whole chain; prints a JSON line (own process: own RSS)."""
    engine = make_engine(url, pool_size=1)
    start_rss = benchlib.rss_mib()
    cpu0 = time.process_time()
    began = time.perf_counter()
    report = service.verify(engine)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    engine.dispose()
    print(
        json.dumps(
            {
                "ok": report.ok,
                "checked": report.checked,
                "complete": report.complete,
                "head_seq": report.head_seq,
                "problem": None if report.problem is None else report.problem.model_dump(),
                "seconds": elapsed,
                "records_per_s": report.checked / elapsed,
                "client_cpu_share": cpu / elapsed,
                "rss_start_mib": start_rss,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run_verify(url: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--verify-child", url],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--seconds", type=float, default=None, help="per append workload")
    parser.add_argument("--records", type=int, default=None, help="chain length to verify")
    parser.add_argument("--verify-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_child:
        verify_child(args.verify_child)
        return
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    total = args.records or (100_000 if args.quick else MILLION)
    print(f"== audit_trail: append throughput and chain verification ({benchlib.command_line()})")
    info = benchlib.print_machine()
    appends: list[dict[str, Any]] = []
    with benchlib.ledger_database("audit") as url:
        engine = make_engine(url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE bench_plain (id bigserial PRIMARY KEY, payload json NOT NULL)")
            )
        engine.dispose()
        print(
            f"append: {seconds:g} s per workload; each client an OS process with its own "
            "connection; one record = one state change with before/after JSON"
        )
        workloads = [
            ("plain", 1, 1),
            ("plain", 8, 1),
            ("audit", 1, 1),
            ("audit", 8, 1),
            ("audit", 1, 100),
            ("audit", 8, 100),
        ]
        for mode, clients, per_txn in workloads:
            r = run_append(url, mode, clients, per_txn, seconds)
            appends.append(r)
            lat = r["latency"]
            if mode == "plain":
                label = f"reference: 1 plain INSERT per txn, {clients} client(s)"
                verdict = "(the commit ceiling, no audit)"
                unit = "txn/s"
            else:
                label = f"audit: {per_txn:>3} record(s) per txn, {clients} client(s)"
                ok = r["records_per_s"] >= TARGET_APPEND_PER_S
                verdict = f"target >= {TARGET_APPEND_PER_S} {benchlib.verdict(ok)}"
                unit = "records/s"
            print(
                f"  {label}: {r['records_per_s']:8.0f} {unit} "
                f"({r['transactions_per_s']:.0f} txn/s; txn p50 {lat['p50_ms']:.2f} ms, "
                f"p99 {lat['p99_ms']:.2f} ms; client CPU {r['client_cpu_share']:.0%}) {verdict}"
            )
        print(f"  {benchlib.loadavg()}")

        grown = grow_chain(url, total)
        print(
            f"grew the chain by {grown['records_added']} records via the service, "
            f"{BULK_PER_TRANSACTION} per transaction: {grown['records_per_s']:.0f} records/s "
            f"({grown['seconds']:.1f} s); audit_record now {grown['table_size']} with indexes"
        )
        check = run_verify(url)
        ok = check["ok"] and check["seconds"] < TARGET_VERIFY_S and check["checked"] >= total
        print(
            f"verify {check['checked']} records: {check['seconds']:.1f} s "
            f"({check['records_per_s']:.0f} records/s; chain ok={check['ok']}, "
            f"complete={check['complete']}; verifier on CPU {check['client_cpu_share']:.0%} "
            f"of the time; RSS {check['rss_start_mib']:.0f} MiB at start, peak "
            f"{check['peak_rss_mib']:.0f} MiB) target < {TARGET_VERIFY_S:.0f} s "
            f"{benchlib.verdict(ok)}"
        )
        print(f"  {benchlib.loadavg()}")
    path = benchlib.save(
        "audit_trail",
        {
            "machine": info,
            "command": benchlib.command_line(),
            "append": appends,
            "grow": grown,
            "verify": check,
        },
    )
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
