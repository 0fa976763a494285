"""End-to-end payment orders per second through the simulated gateway over loopback.

The gateway runs as its own process (``lendbridge gateway``); the platform's callback
endpoint is a ``lendbridge serve`` process (jobs off); two ``lendbridge worker`` processes
send the orders. Orders are created the way other domains create them (a disbursement run,
the daily auto-debit): through the payments service inside batches of transactions. The clock
starts when creation starts and stops when every order is final, so the figure covers
creation, submission, the gateway's answer, the booking and the callbacks.

    .venv/bin/python bench/payments_orders.py                 # 5,000 orders, 2 workers
    .venv/bin/python bench/payments_orders.py --orders 500    # a quick run
    .venv/bin/python bench/payments_orders.py --broker amqp://guest:guest@127.0.0.1:5672/%2F
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import benchlib
from lendbridge.kit.actor import system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.ledger import service as ledger
from lendbridge.ledger.chart import load_chart
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import AccountType, Side
from lendbridge.ledger.schemas import AccountIn, EntryIn, PostingIn
from lendbridge.payments import channel_config, check, orders
from lendbridge.payments.models import OrderKind, OrderStatus, PaymentOrder
from lendbridge.payments.schemas import ChannelIn, OrderIn, PartyIn

TARGET = 500.0
SECRET_ENV = "LENDBRIDGE_BENCH_GATEWAY_SECRET"
INVESTOR = "2241.002.bench"
ACTOR = system_actor("bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up")
        time.sleep(0.1)


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from lendbridge.cli import main; main()", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        del name


def prepare(url: str, gateway_url: str, funds: int) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            load_chart(session)
            ledger.open_account(
                session,
                AccountIn(
                    code=INVESTOR,
                    name="Bench investor",
                    type=AccountType.LIABILITY,
                    currency="CNY",
                    min_balance=0,
                ),
            )
            ledger.post_entry(
                session,
                EntryIn(
                    postings=[
                        PostingIn(
                            account="1002.001", side=Side.DEBIT, amount=funds, currency="CNY"
                        ),
                        PostingIn(account=INVESTOR, side=Side.CREDIT, amount=funds, currency="CNY"),
                    ]
                ),
            )
            channel_config.save_channel(
                session,
                ChannelIn(
                    name="sim",
                    display_name="Simulated bank",
                    base_url=gateway_url,
                    merchant_id="M0001",
                    secret_env=SECRET_ENV,
                    clearing_account="3001.001",
                    settlement_account="1002.001",
                    fee_account="6421.001",
                    per_order_limit=10**9,
                    daily_limit=10**13,
                    timeout_seconds=10,
                ),
                ACTOR,
            )
    finally:
        engine.dispose()


def create_orders(url: str, count: int, batch: int) -> float:
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    start = time.perf_counter()
    try:
        for first in range(0, count, batch):
            with unit_of_work(factory) as session:
                requests = []
                for i in range(first, min(first + batch, count)):
                    kind = OrderKind.COLLECTION if i % 4 == 0 else OrderKind.PAYOUT
                    requests.append(
                        (
                            OrderIn(
                                kind=kind,
                                channel="sim",
                                account=INVESTOR,
                                amount=100 + i % 10_000,
                                currency="CNY",
                                party=PartyIn(
                                    account_number="6222021234561234", account_name="测试"
                                ),
                                authorisation_ref="bench" if kind == OrderKind.COLLECTION else None,
                            ),
                            f"bench-{i}",
                        )
                    )
                orders.create_orders(session, requests, actor=ACTOR)
    finally:
        engine.dispose()
    return time.perf_counter() - start


def cpu_snapshot(roles: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) so far for each named process and, summed, for every
    PostgreSQL process alive now: where the machine's two cores went."""
    import psutil

    out: dict[str, float] = {}
    for role, pid in roles.items():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            out[role] = times.user + times.system
    postgres: dict[int, float] = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if (
            proc.info["name"]
            and proc.info["name"].startswith("postgres")
            and proc.info["cpu_times"]
        ):
            postgres[proc.pid] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
    out["postgres"] = sum(postgres.values())
    out["_postgres_pids"] = postgres  # type: ignore[assignment]
    return out


def cpu_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    delta = {k: round(v - before.get(k, 0.0), 2) for k, v in after.items() if k[0] != "_"}
    old, new = before["_postgres_pids"], after["_postgres_pids"]
    delta["postgres"] = round(sum(v - old.get(pid, 0.0) for pid, v in new.items()), 2)
    return delta


def final_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                PaymentOrder.status.in_(
                    [
                        OrderStatus.SUCCEEDED.value,
                        OrderStatus.FAILED.value,
                        OrderStatus.REVERSED.value,
                    ]
                )
            )
        )
        or 0
    )


def run(count: int, workers: int, threads: int, batch: int, broker: str | None) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    gateway_port, api_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    env = dict(os.environ)
    env.setdefault("LENDBRIDGE_MASTER_KEYS", Keyring.generate().to_env())
    env.setdefault("LENDBRIDGE_TOKEN_SECRET", secrets.token_hex(32))
    os.environ.update({k: env[k] for k in ("LENDBRIDGE_MASTER_KEYS", "LENDBRIDGE_TOKEN_SECRET")})
    from lendbridge.kit import crypto

    crypto.configure(Keyring.from_env(env["LENDBRIDGE_MASTER_KEYS"]))
    with benchlib.ledger_database("payments") as url:
        env.update(
            {
                "LENDBRIDGE_DATABASE_URL": url,
                "LENDBRIDGE_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
                "LENDBRIDGE_LOG_LEVEL": "WARNING",
                "LENDBRIDGE_RUN_JOBS": "false",
                SECRET_ENV: secret,
            }
        )
        if broker:
            env["LENDBRIDGE_BROKER_URL"] = broker
            env["LENDBRIDGE_BROKER_QUEUE"] = f"bench-{secrets.token_hex(4)}"
        prepare(url, gateway_url, funds=10**13)
        gateway_args = ["gateway", "--port", str(gateway_port), "--secret", secret]
        gateway_args += ["--log-level", "warning"]
        with (
            process(gateway_args, env, "gateway") as gateway,
            process(["serve", "--port", str(api_port)], env, "api") as api,
        ):
            wait_http(f"{gateway_url}/admin/stats")
            wait_http(f"http://127.0.0.1:{api_port}/health")
            engine = make_engine(url, pool_size=1)
            worker_env = dict(env)
            with contextlib.ExitStack() as stack:
                procs = [
                    stack.enter_context(
                        process(["worker", "--threads", str(threads)], worker_env, f"worker{i}")
                    )
                    for i in range(workers)
                ]
                peak: dict[int, float] = {}
                stop = threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        for p in procs:
                            with contextlib.suppress(Exception):
                                peak[p.pid] = max(peak.get(p.pid, 0.0), benchlib.rss_mib(p.pid))
                        stop.wait(0.5)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                roles = {"gateway": gateway.pid, "api": api.pid, "bench": os.getpid()}
                roles.update({f"worker{i}": p.pid for i, p in enumerate(procs)})
                cpu_before = cpu_snapshot(roles)
                start = time.perf_counter()
                created_in = create_orders(url, count, batch)
                with Session(engine) as session:
                    while final_count(session) < count:
                        if time.perf_counter() - start > 600:
                            raise RuntimeError("orders did not finish in 10 minutes")
                        time.sleep(0.05)
                        session.rollback()
                elapsed = time.perf_counter() - start
                cpu = cpu_delta(cpu_before, cpu_snapshot(roles))
                stop.set()
            stats = httpx.get(f"{gateway_url}/admin/stats").json()
            with Session(engine) as session:
                findings = check.consistency(session)
                ledger_ok = check_ledger(session).ok
            engine.dispose()
    return {
        "orders": count,
        "workers": workers,
        "threads_per_worker": threads,
        "broker": broker or "none (database polling)",
        "create_seconds": round(created_in, 2),
        "create_per_s": round(count / created_in, 1),
        "elapsed_seconds": round(elapsed, 2),
        "orders_per_s": round(count / elapsed, 1),
        "gateway_executions": stats.get("executions"),
        "duplicate_executions": stats.get("duplicate_executions"),
        "consistency_findings": len(findings),
        "ledger_ok": ledger_ok,
        "worker_peak_rss_mib": {str(k): round(v, 1) for k, v in peak.items()},
        "cpu_seconds": cpu,
        "cpu_ms_per_order": round(1000 * sum(cpu.values()) / count, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500, help="orders per creating transaction")
    parser.add_argument("--broker", default=None, help="amqp://... or redis://...; default none")
    args = parser.parse_args()
    info = benchlib.print_machine()
    result = run(args.orders, args.workers, args.threads, args.batch, args.broker)
    ok = result["orders_per_s"] >= TARGET
    print(
        f"{result['orders']} orders, {result['workers']} workers x {result['threads_per_worker']} "
        f"threads, broker {result['broker']}: created at {result['create_per_s']}/s, all final "
        f"after {result['elapsed_seconds']} s = {result['orders_per_s']} orders/s end to end "
        f"(target >= {TARGET:.0f}: {benchlib.verdict(ok)}); gateway executions "
        f"{result['gateway_executions']}, duplicates {result['duplicate_executions']}, "
        f"consistency findings {result['consistency_findings']}, ledger ok {result['ledger_ok']}, "
        f"worker peak RSS {result['worker_peak_rss_mib']} MiB"
    )
    print(f"CPU seconds by process: {result['cpu_seconds']}; {result['cpu_ms_per_order']} ms/order")
    benchlib.save(
        "payments_orders", {"machine": info, "result": result, "command": benchlib.command_line()}
    )


if __name__ == "__main__":
    main()
