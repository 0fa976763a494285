"""Reconciliation of a 1,000,000-line channel statement against 1,000,000 payment orders.

The orders are written straight into ``payment_order`` by one ``INSERT ... SELECT`` over
``generate_series`` (the fixture, not what is measured): ids ``md5(n)::uuid``, channel
references ``SG<n>``, amounts and masked accounts derived from ``n``, so the script can
print the matching statement without reading them back. The statement, in the simulated
gateway's columns, has one line per order except for a few hundred injected breaks of each
kind, plus split payments (two lines, one order) and batches (one line, three orders
sharing a reference) that must match. The import runs in a child process of its own
(``importer.import_statement`` in one unit of work, as ``lendbridge recon import`` does);
its wall time and peak RSS are the figures, and the break counts per kind must equal the
injected ones.

    .venv/bin/python bench/payments_recon.py             # 1,000,000 orders
    .venv/bin/python bench/payments_recon.py --quick     # 20,000 orders
    .venv/bin/python bench/payments_recon.py --orders 200000 --breaks 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

import benchlib
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.ledger.chart import load_chart
from lendbridge.payments import channel_config
from lendbridge.payments.recon import importer
from lendbridge.payments.schemas import ChannelIn

TARGET_SECONDS = 60.0
TARGET_RSS_MIB = 1024.0
CHANNEL = "sim"
KINDS = (
    "missing_on_platform",
    "missing_at_channel",
    "amount_mismatch",
    "status_mismatch",
    "unreadable_line",
)
HEADER = (
    "trade_date,channel_ref,order_no,direction,amount,currency,status,fee,account,completed_at\n"
)


def order_id(n: int) -> uuid.UUID:
    """The id the SQL fixture gives order ``n``: ``md5(n::text)::uuid``."""
    return uuid.UUID(hashlib.md5(str(n).encode()).hexdigest())  # an id, not security


def amount_of(n: int) -> int:
    return (n * 7919) % 5_000_000 + 100


def last4_of(n: int) -> str:
    return f"{n % 9000:04d}"  # 0000..8999; stray lines use 9999, which no order has


class Plan:
    """Which order numbers carry which injected difference (disjoint ranges from the end)."""

    def __init__(self, orders: int, breaks: int) -> None:
        self.orders = orders
        self.breaks = breaks
        top = orders
        self.ranges: dict[str, range] = {}
        for name, size in (
            ("missing_at_channel", breaks),
            ("amount_mismatch", breaks),
            ("status_mismatch", breaks),
            ("split", breaks),
            ("batch", 3 * breaks),
        ):
            self.ranges[name] = range(top - size + 1, top + 1)
            top -= size

    def kind(self, n: int) -> str | None:
        for name, numbers in self.ranges.items():
            if n in numbers:
                return name
        return None

    def batch_ref(self, n: int) -> str:
        return f"BATCH{(n - self.ranges['batch'].start) // 3:06d}"


def create_orders(url: str, plan: Plan) -> float:
    """Insert the orders with one statement; the seconds it took."""
    batch = plan.ranges["batch"]
    failed = plan.ranges["status_mismatch"]
    engine = make_engine(url, pool_size=1)
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO payment_order (
                    id, idempotency_key, request_hash, kind, direction, channel, account,
                    amount, currency, party_account, party_account_index, party_account_masked,
                    party_name, party_name_masked, memo, status, business_date, completed_on,
                    attempts, channel_ref, manual, created_at, updated_at)
                SELECT md5(n::text)::uuid, 'bench:' || n, repeat('0', 64), 'payout', 'pay',
                    :channel, '2241.002.bench', (n::bigint * 7919) % 5000000 + 100, 'CNY', 'x',
                    repeat('0', 64), '622202******' || lpad((n % 9000)::text, 4, '0'),
                    'x', '张*', '',
                    CASE WHEN n BETWEEN :failed_first AND :failed_last
                        THEN 'failed' ELSE 'succeeded' END,
                    :day, :day, 1,
                    CASE WHEN n BETWEEN :batch_first AND :batch_last
                        THEN 'BATCH' || lpad(((n - :batch_first) / 3)::text, 6, '0')
                        ELSE 'SG' || lpad(n::text, 12, '0') END,
                    false, now(), now()
                FROM generate_series(1, :orders) AS n
                """
            ),
            {
                "channel": CHANNEL,
                "orders": plan.orders,
                "day": benchlib.TODAY,
                "failed_first": failed.start,
                "failed_last": failed.stop - 1,
                "batch_first": batch.start,
                "batch_last": batch.stop - 1,
            },
        )
        conn.execute(text("ANALYZE payment_order"))
    engine.dispose()
    return time.perf_counter() - began


def write_statement(path: Path, plan: Plan) -> dict[str, int]:
    """The channel's statement for the orders, with the injected differences; the number
    of breaks of each kind it must produce."""
    day = benchlib.TODAY.isoformat()
    stamp = f"{day}T10:00:00+08:00"

    def row(ref: str, order_no: str, amount: int, account: str, status: str = "SUCCESS") -> str:
        return (
            f"{day},{ref},{order_no},pay,{amount // 100}.{amount % 100:02d},CNY,{status},"
            f"0.50,6222****{account},{stamp}\n"
        )

    expected = dict.fromkeys(KINDS, 0)
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(1, plan.orders + 1):
            kind = plan.kind(n)
            ref, no, amount, account = f"SG{n:012d}", str(order_id(n)), amount_of(n), last4_of(n)
            if kind == "missing_at_channel":
                expected["missing_at_channel"] += 1
                continue
            if kind == "amount_mismatch":
                amount += 1
                expected["amount_mismatch"] += 1
            elif kind == "status_mismatch":
                expected["status_mismatch"] += 1  # SUCCESS here, failed on the platform
            elif kind == "split":
                first = amount // 2
                out.write(row(ref, no, first, account))
                amount -= first
                lines += 1
            elif kind == "batch":
                if (n - plan.ranges["batch"].start) % 3:
                    continue
                members = range(n, n + 3)
                out.write(row(plan.batch_ref(n), "", sum(amount_of(m) for m in members), account))
                lines += 1
                continue
            out.write(row(ref, no, amount, account))
            lines += 1
        for i in range(plan.breaks):
            out.write(row(f"STRAY{i:06d}", str(uuid.UUID(int=i + 1)), 10_000 + i, "9999"))
            out.write(f"{day},BAD{i:06d},,pay,12.3.4,CNY,SUCCESS,0,6222****0000,{stamp}\n")
            lines += 2
        expected["missing_on_platform"] += plan.breaks
        expected["unreadable_line"] += plan.breaks
    expected["lines"] = lines
    return expected


def setup_channel(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with unit_of_work(make_session_factory(engine)) as session:
        load_chart(session)
        channel_config.save_channel(
            session,
            ChannelIn(
                name=CHANNEL,
                display_name="Simulated gateway",
                base_url="http://127.0.0.1:9",
                merchant_id="M0001",
                secret_env="LB_BENCH_SIM_SECRET",
                clearing_account="3001.001",
                settlement_account="1002.001",
                fee_account="6421.001",
                per_order_limit=10_000_000,
                daily_limit=10**15,
            ),
            system_actor("bench"),
        )
    engine.dispose()


def child(url: str, path: str) -> None:
    """One measured import; prints a JSON line."""
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    rss_start = benchlib.rss_mib()
    cpu0 = time.process_time()
    began = time.perf_counter()
    with unit_of_work(factory) as session, open(path, "rb") as source:
        out, created = importer.import_statement(
            session, CHANNEL, source, actor=system_actor("bench"), file_name=Path(path).name
        )
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - cpu0
    began = time.perf_counter()
    with unit_of_work(factory) as session, open(path, "rb") as source:
        _, again = importer.import_statement(session, CHANNEL, source, actor=system_actor("bench"))
    repeat = time.perf_counter() - began
    engine.dispose()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "client_cpu_share": client_cpu / elapsed,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_start_mib": rss_start,
                "created": created,
                "repeat_seconds": repeat,
                "repeat_created": again,
                "run": out.model_dump(mode="json"),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 orders, a few seconds")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--breaks", type=int, default=None, help="injected per kind")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    orders = args.orders or (20_000 if args.quick else 1_000_000)
    plan = Plan(orders, args.breaks or (50 if args.quick else 300))
    print(f"== payments_recon: reconciliation of a channel statement ({benchlib.command_line()})")
    info = benchlib.print_machine()
    with benchlib.ledger_database("recon") as url, tempfile.TemporaryDirectory() as tmp:
        setup_channel(url)
        fixture_seconds = create_orders(url, plan)
        path = Path(tmp) / f"statement-{benchlib.TODAY}.csv"
        expected = write_statement(path, plan)
        size_mib = path.stat().st_size / 1024 / 1024
        print(
            f"fixture: {orders:,} orders inserted in {fixture_seconds:.1f} s; statement "
            f"{expected['lines']:,} lines, {size_mib:.0f} MiB; injected per kind: {plan.breaks} "
            f"(+ {plan.breaks} split orders, {plan.breaks} batch lines of 3 orders)"
        )
        proc = subprocess.run(
            [sys.executable, __file__, "--child", url, str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    run = result["run"]
    found = {kind: run["breaks_by_kind"].get(kind, {"count": 0})["count"] for kind in KINDS}
    correct = (
        all(found[kind] == expected[kind] for kind in KINDS) and run["lines"] == expected["lines"]
    )
    fast = result["seconds"] < TARGET_SECONDS
    small = result["peak_rss_mib"] < TARGET_RSS_MIB
    print(
        f"import of {run['lines']:,} lines against {run['platform']['count']:,} order "
        f"movements: {result['seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s) "
        f"{benchlib.verdict(fast)}; peak RSS {result['peak_rss_mib']:.0f} MiB (target < "
        f"{TARGET_RSS_MIB:.0f} MiB) {benchlib.verdict(small)}; this process on CPU "
        f"{result['client_cpu_share']:.0%} of the time"
    )
    print(
        f"matched {run['matched_lines']:,} lines / {run['matched_orders']:,} orders by rule "
        f"{run['matched_by_rule']}; the same file again: {result['repeat_seconds']:.1f} s, "
        f"created={result['repeat_created']}"
    )
    print(
        "breaks per kind, found / injected: "
        + ", ".join(f"{kind} {found[kind]}/{expected[kind]}" for kind in KINDS)
        + f" {benchlib.verdict(correct)}"
    )
    print(benchlib.loadavg())
    saved = benchlib.save(
        "payments_recon",
        {
            "machine": info,
            "command": benchlib.command_line(),
            "orders": orders,
            "expected": expected,
            "found": found,
            "result": result,
        },
    )
    print(f"raw results: {os.path.relpath(saved)}")
    if not correct:
        sys.exit(1)


if __name__ == "__main__":
    main()
