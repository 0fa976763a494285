"""Repayments through the API: ``POST /v1/loans/{id}/repayments`` on the real server, and how
long the platform then takes to apply them.

The script creates its own PostgreSQL database, makes ``--loans`` loans through the real
services (``cob.make_portfolio``: products, a payment channel, loans disbursed by payment
orders through an in-process channel that answers "succeeded" at once, activated by the
loans' subscriber), closes ``--age-days`` business days so that the first installment is due,
then starts uvicorn on the app factory with jobs off (the figure is the API's intake: each
request locks the loan, writes the repayment, its payment order, the audit rows and the
sending job, and commits). ``--clients`` threads with one keep-alive httpx client each send
repayments (purpose installments, a unique Idempotency-Key each) to random loans as fast as
the answers come back (closed loop), signed in as a system integration (role ``integration``,
which holds ``loans.repay``).

Then the same clients send, for as long, two reference requests to the same server: ``GET
/health`` (no authentication, no database) and ``GET /v1/loans/{id}`` (a token checked, one
loan read): what this stack reaches on this machine when a request does almost nothing, the
ceiling the repayment figure is measured against (``--no-reference`` skips them).

After the load the server stops and the jobs run in this process (the same instant channel):
every order is sent, succeeds, is booked, and the loans' subscriber applies the repayment;
repayments applied per second, then the payments, loans and ledger checks.

    .venv/bin/python bench/repayments_api.py                  # 2,000 loans, 8 clients, 20 s
    .venv/bin/python bench/repayments_api.py --quick          # 200 loans, 4 clients, 3 s
    .venv/bin/python bench/repayments_api.py --workers 2 --clients 16
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import benchlib
import cob
import ledger_http
import payments_orders
from lendbridge.kit import crypto, jobs
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine, make_session_factory
from lendbridge.kit.logging import configure_logging
from lendbridge.kit.startup import freeze_startup_objects
from lendbridge.ledger.check import check_ledger
from lendbridge.payments import check as payments_check
from lendbridge.payments import runtime as payments_runtime
from lendbridge.payments.channels.registry import Adapters
from lendbridge.servicing import check as loans_check
from lendbridge.servicing.models import Loan, LoanRepayment, LoanStatus

TARGET_RPS = 500.0
TARGET_P99_MS = 50.0
# The channel cob.make_portfolio configures names this variable for its credentials; the
# server only builds the adapter (jobs are off), but the variable must be set.
CHANNEL_SECRET_ENV = "LENDBRIDGE_BENCH_SECRET"


def repayment_body(rng: random.Random) -> dict[str, Any]:
    # 50 to 150 yuan: a part of an installment (about 900 yuan); what exceeds what is due
    # stays in the customer's credit balance, so every request is valid whatever came before.
    return {"channel": "sim", "purpose": "installments", "amount": rng.randint(50_00, 150_00)}


def make_loans(url: str, count: int, age_days: int) -> tuple[list[str], float, float]:
    """Active loans made through the services, aged ``age_days`` business days by the close
    of business; their ids, the seconds to make them and the seconds to age them."""
    engine = make_engine(url, pool_size=4)
    factory = make_session_factory(engine)
    try:
        made = cob.make_portfolio(factory, count, 500)
        aged = cob.close(factory, age_days, 1000)[0] if age_days else 0.0
        with Session(engine) as session:
            rows = session.execute(select(Loan.status, func.count()).group_by(Loan.status))
            statuses = {status: int(n) for status, n in rows}
            ids = [str(i) for i in session.scalars(select(Loan.id).order_by(Loan.id))]
    finally:
        engine.dispose()
    if statuses != {LoanStatus.ACTIVE.value: count}:
        raise RuntimeError(f"loans after setup, by status: {statuses}; expected {count} active")
    return ids, made, aged


def start_server(url: str, workers: int, port: int, var_dir: str) -> subprocess.Popen[bytes]:
    """uvicorn on the app factory (``ledger_http.start_server``) with jobs off: the intake
    only; the orders are sent afterwards."""
    return ledger_http.start_server(
        url,
        workers,
        port,
        {
            "LENDBRIDGE_RUN_JOBS": "false",
            "LENDBRIDGE_VAR_DIR": var_dir,
            "LENDBRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            CHANNEL_SECRET_ENV: "bench channel secret",
        },
    )


Send = Callable[[httpx.Client, random.Random, str], httpx.Response]


def post_repayment(loan_ids: list[str], auth: dict[str, str]) -> tuple[Send, int]:
    """A repayment to a random loan with a unique key; anything but 201 Created is an error
    (the keys are unique, so 200 would be a replay)."""

    def send(http: httpx.Client, rng: random.Random, key: str) -> httpx.Response:
        return http.post(
            f"/v1/loans/{rng.choice(loan_ids)}/repayments",
            json=repayment_body(rng),
            headers={"Idempotency-Key": key, **auth},
        )

    return send, 201


def get_reference(path: str, auth: dict[str, str] | None = None) -> tuple[Send, int]:
    """A reference request on the same server: what the stack costs without the work."""

    def send(http: httpx.Client, rng: random.Random, key: str) -> httpx.Response:
        return http.get(path, headers=auth or {})

    return send, 200


def load(
    port: int, request: tuple[Send, int], clients: int, seconds: float, warmup: int
) -> dict[str, Any]:
    """Closed loop: each client sends its next request as soon as the last answer arrives."""
    send, expected = request
    # What importing the platform built stays out of full collections: their stalls would
    # show as the server's latency (the server does the same at start-up).
    freeze_startup_objects()
    barrier = threading.Barrier(clients)
    lock = threading.Lock()
    latencies: list[tuple[float, float]] = []  # (when sent, from the start; seconds taken)
    errors: list[str] = []
    counts: list[int] = []
    run = uuid.uuid4().hex[:8]

    def client(i: int) -> None:
        rng = random.Random(7000 + i)
        mine: list[tuple[float, float]] = []
        failed: list[str] = []

        def post(http: httpx.Client, key: str) -> httpx.Response:
            return send(http, rng, key)

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for n in range(warmup):
                response = post(http, f"bench-{run}-{i}-w{n}")
                if response.status_code != expected:
                    failed.append(f"warm-up {response.status_code} {response.text[:300]}")
            barrier.wait()
            perf = time.perf_counter
            start = perf()
            deadline = start + seconds
            n = 0
            while (t0 := perf()) < deadline:
                response = post(http, f"bench-{run}-{i}-{n}")
                mine.append((t0 - start, perf() - t0))
                if response.status_code != expected:
                    failed.append(f"{response.status_code} {response.text[:300]}")
                n += 1
        with lock:
            latencies.extend(mine)
            errors.extend(failed)
            counts.append(len(mine))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(counts)
    # The first and the last fifth of the run apart: a cost that grows with the orders already
    # made today (the channel's daily usage is summed on each request) shows as a drift.
    fifth = seconds / 5
    first = [took for at, took in latencies if at < fifth]
    last = [took for at, took in latencies if at >= seconds - fifth]
    return {
        "clients": clients,
        "requests": total,
        "warmup_requests": warmup * clients,
        "seconds": seconds,
        "rps": total / seconds,
        "errors": len(errors),
        "first_errors": errors[:5],
        **benchlib.latency_summary([took for _, took in latencies]),
        "first_fifth": benchlib.latency_summary(first),
        "last_fifth": benchlib.latency_summary(last),
    }


def repayments_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(LoanRepayment.status, func.count()).group_by(LoanRepayment.status)
    ).all()
    return {status: int(n) for status, n in rows}


def apply_all(url: str) -> dict[str, Any]:
    """Run every job in this process (instant channel): sending, booking, applying."""
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    try:
        with Session(engine) as session:
            before = repayments_by_status(session)
        start = time.perf_counter()
        ran = 0
        while (step := jobs.drain(factory)) > 0:  # drain stops after its rounds; go on
            ran += step
        elapsed = time.perf_counter() - start
        with Session(engine) as session:
            after = repayments_by_status(session)
            # where the money went: installments paid, or left in the credit balance
            paid, to_credit = session.execute(
                select(func.sum(LoanRepayment.applied), func.sum(LoanRepayment.to_credit))
            ).one()
            findings = {
                "payments": len(payments_check.consistency(session)),
                "loans": len(loans_check.consistency(session)),
            }
            ledger_ok = check_ledger(session).ok
    finally:
        engine.dispose()
    applied = after.get("applied", 0) - before.get("applied", 0)
    return {
        "jobs_run": ran,
        "seconds": round(elapsed, 2),
        "applied": applied,
        "applied_per_s": round(applied / elapsed, 1) if elapsed else float("nan"),
        "repayments_by_status": after,
        "paid_to_loans": int(paid or 0),
        "left_in_credit_balance": int(to_credit or 0),
        "check_findings": findings,
        "ledger_ok": ledger_ok,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING")
    crypto.configure(Keyring.from_env(ledger_http.MASTER_KEYS))  # the server's keys
    payments_runtime.configure(
        payments_runtime.PaymentsRuntime(adapters=Adapters(overrides={"sim": cob.InstantChannel()}))
    )
    with benchlib.ledger_database("repay") as url, tempfile.TemporaryDirectory() as var_dir:
        loan_ids, made, aged = make_loans(url, args.loans, args.age_days)
        auth = ledger_http.sign_in_integration(url)
        port = ledger_http.free_port()
        server = start_server(url, args.workers, port, var_dir)
        roles = {"server": server.pid, "bench": os.getpid()}
        try:
            result = measured(
                lambda: load(
                    port, post_repayment(loan_ids, auth), args.clients, args.seconds, args.warmup
                ),
                server.pid,
                roles,
            )
            references = {}
            if not args.no_reference:
                # The same clients on the same server against requests that do (almost) no
                # work: the ceiling this stack reaches on this machine, measured in this run.
                for name, request in (
                    ("GET /health (no authentication, no database)", get_reference("/health")),
                    (
                        "GET /v1/loans/{id} (token, one loan read)",
                        get_reference(f"/v1/loans/{loan_ids[0]}", auth),
                    ),
                ):
                    references[name] = measured(
                        lambda r=request: load(port, r, args.clients, args.seconds, args.warmup),
                        server.pid,
                        roles,
                    )
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        applying = apply_all(url) if not args.no_apply else None
    return {
        "loans": args.loans,
        "workers": args.workers,
        "setup_seconds": round(made, 1),
        "age_days": args.age_days,
        "aging_seconds": round(aged, 1),
        "load": result,
        "references": references,
        "apply": applying,
    }


def measured(
    run_load: Callable[[], dict[str, Any]], server_pid: int, roles: dict[str, int]
) -> dict[str, Any]:
    """A load with the CPU it took per request: server, PostgreSQL, load generator."""
    cpu_before = payments_orders.cpu_snapshot(roles)
    server_cpu0 = ledger_http.server_cpu(server_pid)
    result = run_load()
    sent = result["requests"] + result["warmup_requests"]
    result["server_cpu_ms_per_request"] = (
        (ledger_http.server_cpu(server_pid) - server_cpu0) * 1000 / sent
    )
    cpu = payments_orders.cpu_delta(cpu_before, payments_orders.cpu_snapshot(roles))
    result["postgres_cpu_ms_per_request"] = cpu["postgres"] * 1000 / sent
    result["bench_cpu_ms_per_request"] = cpu["bench"] * 1000 / sent
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=None, help="default 2,000 (quick: 200)")
    parser.add_argument("--seconds", type=float, default=None, help="default 20 (quick: 3)")
    parser.add_argument("--clients", type=int, default=None, help="default 8 (quick: 4)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--warmup", type=int, default=None, help="requests per client first")
    parser.add_argument(
        "--age-days",
        type=int,
        default=31,
        help="business days closed before the load, so the first installment is due (0: none)",
    )
    parser.add_argument("--no-apply", action="store_true", help="skip applying afterwards")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the reference requests (the ceiling)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a minute or so")
    args = parser.parse_args()
    args.loans = args.loans or (200 if args.quick else 2_000)
    args.seconds = args.seconds or (3.0 if args.quick else 20.0)
    args.clients = args.clients or (4 if args.quick else 8)
    args.warmup = args.warmup if args.warmup is not None else (5 if args.quick else 20)
    print(f"== repayments_api: POST /v1/loans/{{id}}/repayments ({benchlib.command_line()})")
    info = benchlib.print_machine()
    result = run(args)
    r = result["load"]
    ok_rps, ok_p99 = r["rps"] >= TARGET_RPS, r["p99_ms"] < TARGET_P99_MS
    print(
        f"{result['loans']} loans made through the services in {result['setup_seconds']} s, "
        f"aged {result['age_days']} days in {result['aging_seconds']} s"
    )
    print(
        f"uvicorn --workers {result['workers']}, {r['clients']} clients, {r['seconds']:.0f} s: "
        f"{r['requests']} repayments, {r['rps']:.0f} req/s (target >= {TARGET_RPS:.0f} "
        f"{benchlib.verdict(ok_rps)}), p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms (target < {TARGET_P99_MS:.0f} ms {benchlib.verdict(ok_p99)}), "
        f"max {r['max_ms']:.1f} ms, {r['errors']} errors"
    )
    print(
        f"  CPU per request: server {r['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
        f"{r['postgres_cpu_ms_per_request']:.2f} ms (every backend of the server: other "
        f"sessions count too), load generator {r['bench_cpu_ms_per_request']:.2f} ms"
    )
    f1, f5 = r["first_fifth"], r["last_fifth"]
    print(
        f"  drift: first fifth of the run p50 {f1['p50_ms']:.1f} ms, p99 {f1['p99_ms']:.1f} ms; "
        f"last fifth p50 {f5['p50_ms']:.1f} ms, p99 {f5['p99_ms']:.1f} ms"
    )
    if r["errors"]:
        print(f"  first errors: {r['first_errors']}")
    for name, ref in result["references"].items():
        print(
            f"reference, same server and clients: {name}: {ref['rps']:.0f} req/s, p50 "
            f"{ref['p50_ms']:.1f} ms, p99 {ref['p99_ms']:.1f} ms, server CPU "
            f"{ref['server_cpu_ms_per_request']:.2f} ms per request, {ref['errors']} errors; "
            f"repayments reach {r['rps'] / ref['rps']:.2f}x its rate"
        )
    a = result["apply"]
    if a is not None:
        print(
            f"applied afterwards in this process (instant channel, jobs.drain): {a['applied']} "
            f"repayments in {a['seconds']} s = {a['applied_per_s']} /s ({a['jobs_run']} jobs); "
            f"repayments by status {a['repayments_by_status']}, {a['paid_to_loans']} fen paid "
            f"to loans, {a['left_in_credit_balance']} fen left in credit balances; check findings "
            f"{a['check_findings']}, ledger ok {a['ledger_ok']}"
        )
    print(benchlib.loadavg())
    path = benchlib.save(
        "repayments_api", {"machine": info, "result": result, "command": benchlib.command_line()}
    )
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
