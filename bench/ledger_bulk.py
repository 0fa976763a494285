"""Bulk posting with ``service.post_bulk``: many entries per database transaction.

A generator yields plain ``BulkEntry`` rows (two postings each, between random accounts of a
large chart, each with an idempotency key); the stream is committed every ``--commit-every``
entries, and ``post_bulk`` holds ``--chunk-size`` entries in memory at a time. The figure is
postings written and committed per wall-clock second, the input's generation included (the
generator runs inside the measured loop). Each measured run is a child process of its own, so
its peak RSS is its own: the run of N entries and a run of 2N entries are compared to show
memory does not grow with the stream's length. After the runs the whole ledger is checked:
account totals against postings and day buckets, every entry balanced with its declared
postings, every posting's running balance.

    .venv/bin/python bench/ledger_bulk.py            # 200,000 and 400,000 entries
    .venv/bin/python bench/ledger_bulk.py --quick    # 10,000 and 20,000 entries
    .venv/bin/python bench/ledger_bulk.py --api stream   # post_stream with EntryIn models
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
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import text

import benchlib
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.ledger import service
from lendbridge.ledger.bulk import BulkEntry
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn

TARGET_POSTINGS_PER_S = 50_000


def transfers(count: int, accounts: int, seed: int = 3) -> Iterator[tuple[int, int, int]]:
    """``count`` (debit account, credit account, amount): two distinct random accounts."""
    rng = random.Random(seed)
    for _ in range(count):
        a = rng.randrange(accounts)
        b = (a + 1 + rng.randrange(accounts - 1)) % accounts
        yield a, b, rng.randint(1, 100_000)


def bulk_entries(count: int, accounts: int, tag: str) -> Iterator[BulkEntry]:
    """The transfers as the plain rows ``service.post_bulk`` takes, generated lazily."""
    codes = [benchlib.customer_code(i) for i in range(accounts)]
    for i, (a, b, amount) in enumerate(transfers(count, accounts)):
        yield BulkEntry(
            ((codes[a], "debit", amount, "CNY"), (codes[b], "credit", amount, "CNY")),
            f"{tag}-{i}",
            description="bulk transfer",
        )


def model_entries(count: int, accounts: int, tag: str) -> Iterator[tuple[EntryIn, str]]:
    """The same transfers as validated models, for ``service.post_stream``."""
    for i, (a, b, amount) in enumerate(transfers(count, accounts)):
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
    api: str,
    without_triggers: bool = False,
) -> None:
    """One measured run; prints a JSON line. ``without_triggers`` is a diagnosis, not a mode
    to use: the session runs as a replica, so foreign-key checks and the ledger's triggers
    do not fire, which shows what they cost."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    tag = f"bulk{count}-{os.getpid()}"
    generate = bulk_entries if api == "bulk" else model_entries
    # The cost of producing the input alone, to separate it from posting.
    sample = min(count, 50_000)
    t0 = time.perf_counter()
    for _ in generate(sample, accounts, "gen"):
        pass
    gen_rate = sample / (time.perf_counter() - t0)
    stream: Iterator[Any] = generate(count, accounts, tag)
    checkpoints = {count // 4: "25%", count // 2: "50%", count: "100%"}
    samples: dict[str, float] = {"start": benchlib.rss_mib()}
    written = 0
    cpu0 = time.process_time()
    began = time.perf_counter()
    while written < count:
        with unit_of_work(factory) as session:
            if without_triggers:
                session.execute(text("SET LOCAL session_replication_role = replica"))
            batch: Iterable[Any] = itertools.islice(stream, commit_every)
            if api == "bulk":
                n = service.post_bulk(session, batch, chunk_size=chunk_size)
            else:
                n = service.post_stream(session, batch, chunk_size=chunk_size)
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
            "--api",
            args.api,
            *(["--without-triggers"] if without_triggers else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def verify(url: str) -> dict[str, Any]:
    """``ledger check`` over the whole ledger (account totals against postings and day
    buckets, every entry balanced with its declared number of postings, the ledger balanced)
    and every posting's running balance against a recomputation."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    with factory() as session:
        report = check_ledger(session)
        bad_running = session.execute(
            text(
                "SELECT count(*) FROM (SELECT p.balance_after, sum(CASE WHEN (p.side = 'debit')"
                " = (a.normal_side = 'debit') THEN p.amount ELSE -p.amount END)"
                " OVER (PARTITION BY p.account_id ORDER BY p.id) AS running"
                " FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id) r"
                " WHERE r.balance_after <> r.running"
            )
        ).scalar_one()
    engine.dispose()
    return {
        "postings": report.postings,
        "mismatches": [str(m) for m in report.mismatches],
        "running_balances_off": bad_running,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--commit-every", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument(
        "--api",
        choices=("bulk", "stream"),
        default="bulk",
        help="bulk: post_bulk with plain rows (default); stream: post_stream with EntryIn",
    )
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
            args.api,
            args.without_triggers,
        )
        return
    count = args.entries or (10_000 if args.quick else 200_000)
    args.accounts = args.accounts or (10_000 if args.quick else 100_000)
    print(f"== ledger_bulk: post_{args.api} ({benchlib.command_line()})")
    info = benchlib.print_machine()
    print(
        f"{args.accounts} accounts; commit every {args.commit_every} entries; "
        f"chunk_size={args.chunk_size}"
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
    consistent = not check["mismatches"] and check["running_balances_off"] == 0
    print(
        f"consistency ({benchlib.verdict(consistent)}): {check['postings']} postings; "
        f"ledger check mismatches: {len(check['mismatches'])}"
        f"{' ' + '; '.join(check['mismatches'][:5]) if check['mismatches'] else ''}; "
        f"running balances that differ from a recomputation: {check['running_balances_off']}"
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
