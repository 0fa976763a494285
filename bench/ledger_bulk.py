"""Bulk posting with ``service.post_stream``: many entries per database transaction.

A generator yields (EntryIn, idempotency key) pairs, two postings each, between random
accounts of a large chart; the stream is committed every ``--commit-every`` entries and
``post_stream`` holds ``--chunk-size`` entries in memory at a time. Each measured run is a
child process of its own, so its peak RSS is its own: the run of N entries and a run of 2N
entries are compared to show memory does not grow with the stream's length.

    .venv/bin/python bench/ledger_bulk.py            # 200,000 and 400,000 entries
    .venv/bin/python bench/ledger_bulk.py --quick    # 10,000 and 20,000 entries
    .venv/bin/python bench/ledger_bulk.py --diagnose-triggers  # + a run with FKs/triggers off
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text

import benchlib
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.ledger import service
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn

TARGET_POSTINGS_PER_S = 50_000


def entries(count: int, accounts: int, tag: str, seed: int = 3) -> Iterator[tuple[EntryIn, str]]:
    """``count`` transfers between two distinct random customer accounts, generated lazily."""
    rng = random.Random(seed)
    for i in range(count):
        a = rng.randrange(accounts)
        b = (a + 1 + rng.randrange(accounts - 1)) % accounts
        amount = rng.randint(1, 100_000)
        yield (
            EntryIn(
                postings=[
                    PostingIn(
                        account=benchlib.customer_code(a),
                        side=Side.DEBIT,
                        amount=amount,
                        currency="CNY",
                    ),
                    PostingIn(
                        account=benchlib.customer_code(b),
                        side=Side.CREDIT,
                        amount=amount,
                        currency="CNY",
                    ),
                ],
                description="bulk transfer",
            ),
            f"{tag}-{i}",
        )


def child(
    url: str,
    count: int,
    accounts: int,
    commit_every: int,
    chunk_size: int,
    without_triggers: bool = False,
) -> None:
    """One measured run; prints a JSON line. ``without_triggers`` is a diagnosis, not a mode
    to use: the session runs as a replica, so foreign-key checks and the ledger's triggers
    do not fire, which shows what they cost."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    tag = f"bulk{count}-{os.getpid()}"
    # The cost of producing the input alone (Pydantic models), to separate it from posting.
    t0 = time.perf_counter()
    for _ in entries(min(count, 20_000), accounts, "gen"):
        pass
    gen_rate = min(count, 20_000) / (time.perf_counter() - t0)
    stream = entries(count, accounts, tag)
    checkpoints = {count // 4: "25%", count // 2: "50%", count: "100%"}
    samples: dict[str, float] = {"start": benchlib.rss_mib()}
    written = 0
    cpu0 = time.process_time()
    began = time.perf_counter()
    while written < count:
        with unit_of_work(factory) as session:
            if without_triggers:
                session.execute(text("SET LOCAL session_replication_role = replica"))
            n = service.post_stream(
                session, itertools.islice(stream, commit_every), chunk_size=chunk_size
            )
        before = written
        written += n
        for mark, label in checkpoints.items():
            if before < mark <= written:
                samples[label] = benchlib.rss_mib()
        if n == 0:
            break
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - cpu0
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "entries": written,
                "postings": 2 * written,
                "seconds": elapsed,
                "entries_per_s": written / elapsed,
                "postings_per_s": 2 * written / elapsed,
                "input_generation_entries_per_s": gen_rate,
                "client_cpu_share": client_cpu / elapsed,
                "rss_mib": samples,
                "peak_rss_mib": peak,
            }
        )
    )


def run_child(
    url: str, count: int, args: argparse.Namespace, without_triggers: bool = False
) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            url,
            "--entries",
            str(count),
            "--accounts",
            str(args.accounts),
            "--commit-every",
            str(args.commit_every),
            "--chunk-size",
            str(args.chunk_size),
            *(["--without-triggers"] if without_triggers else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def verify(url: str) -> dict[str, Any]:
    """Account totals equal the sums of their postings; day buckets equal them too."""
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        bad_totals = conn.execute(
            text(
                "SELECT count(*) FROM ledger_account a LEFT JOIN ("
                " SELECT account_id, sum(amount) FILTER (WHERE side='debit') d,"
                " sum(amount) FILTER (WHERE side='credit') c FROM ledger_posting"
                " GROUP BY account_id) p ON p.account_id = a.id"
                " WHERE a.debits_posted <> coalesce(p.d, 0) OR a.credits_posted <> coalesce(p.c, 0)"
            )
        ).scalar_one()
        bad_days = conn.execute(
            text(
                "SELECT count(*) FROM ledger_account a LEFT JOIN ("
                " SELECT account_id, sum(debits) d, sum(credits) c FROM ledger_account_day"
                " GROUP BY account_id) p ON p.account_id = a.id"
                " WHERE a.debits_posted <> coalesce(p.d, 0) OR a.credits_posted <> coalesce(p.c, 0)"
            )
        ).scalar_one()
        postings = conn.execute(text("SELECT count(*) FROM ledger_posting")).scalar_one()
    engine.dispose()
    return {
        "accounts_off_postings": bad_totals,
        "accounts_off_days": bad_days,
        "postings": postings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--commit-every", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument(
        "--diagnose-triggers",
        action="store_true",
        help="also run N entries with foreign keys and triggers off (diagnosis only)",
    )
    parser.add_argument("--without-triggers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(
            args.child,
            args.entries,
            args.accounts,
            args.commit_every,
            args.chunk_size,
            args.without_triggers,
        )
        return
    count = args.entries or (10_000 if args.quick else 200_000)
    args.accounts = args.accounts or (10_000 if args.quick else 100_000)
    print(f"== ledger_bulk: post_stream ({benchlib.command_line()})")
    info = benchlib.print_machine()
    print(
        f"{args.accounts} accounts; commit every {args.commit_every} entries; "
        f"post_stream chunk_size={args.chunk_size}"
    )
    runs: dict[Any, dict[str, Any]] = {}
    with benchlib.ledger_database("bulk") as url:
        engine = make_engine(url, pool_size=1)
        benchlib.open_accounts(engine, args.accounts, 0)
        engine.dispose()
        for n in (count, 2 * count):
            r = run_child(url, n, args)
            runs[n] = r
            rss = ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mib"].items())
            ok = r["postings_per_s"] >= TARGET_POSTINGS_PER_S
            print(
                f"{n:>8} entries: {r['postings_per_s']:8.0f} postings/s "
                f"({r['entries_per_s']:.0f} entries/s, {r['seconds']:.1f} s) target >= "
                f"{TARGET_POSTINGS_PER_S} {benchlib.verdict(ok)}; RSS MiB: {rss}; "
                f"peak {r['peak_rss_mib']:.0f} MiB; input generation alone "
                f"{r['input_generation_entries_per_s']:.0f} entries/s; this process on CPU "
                f"{r['client_cpu_share']:.0%} of the time (the rest: waiting for PostgreSQL)"
            )
        if args.diagnose_triggers:
            r = run_child(url, count, args, without_triggers=True)
            runs["without_triggers"] = r
            print(
                f"diagnosis, {count} entries with foreign-key checks and ledger triggers OFF: "
                f"{r['postings_per_s']:.0f} postings/s ({r['seconds']:.1f} s)"
            )
        check = verify(url)
    small, large = runs[count], runs[2 * count]
    growth = large["peak_rss_mib"] / small["peak_rss_mib"]
    print(
        f"peak RSS {small['peak_rss_mib']:.0f} MiB for {count} entries vs "
        f"{large['peak_rss_mib']:.0f} MiB for {2 * count}: x{growth:.2f} "
        f"(flat means memory does not grow with the stream) {benchlib.verdict(growth < 1.2)}"
    )
    print(
        f"consistency: {check['postings']} postings; accounts whose totals differ from their "
        f"postings: {check['accounts_off_postings']}; from their day buckets: "
        f"{check['accounts_off_days']}"
    )
    print(benchlib.loadavg())
    path = benchlib.save(
        "ledger_bulk",
        {
            "machine": info,
            "command": benchlib.command_line(),
            "runs": runs,
            "check": check,
            "rss_growth": growth,
        },
    )
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
