"""Application -> decision through the API: ``POST /v1/me/applications`` on the real server
on PostgreSQL, at a fixed rate (open loop), each request a different verified borrower.

The script creates its own PostgreSQL database with the demo products, the default decision
policy and the German credit scorecard as champion (trained once here, as ``init --demo``
does), and ``--borrowers`` borrowers, each with a verified identity, a bound card and an
access token. It then starts uvicorn on the app factory (jobs off: the figure is the
request) and sends applications at ``--rate`` per second for ``--seconds``: a request is
due at its slot whether or not earlier answers came back, and its latency counts from the
slot (no coordinated omission). Each application is a German credit applicant (the row
drawn at random, so the outcomes mix offers, reviews and declines) for CONSUMER-EI; the
server runs the whole preliminary review (identity, age from the resident id, obligations,
overdue loans, the risk list, velocity), scores with the champion, evaluates the policy,
prices the offer, and stores the application, the decision, the transitions and the audit
records in one transaction.

    .venv/bin/python bench/applications_api.py             # 50 req/s for 20 s
    .venv/bin/python bench/applications_api.py --quick     # 20 req/s for 3 s
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Any

import httpx
from sqlalchemy.orm import Session
from stdnum.cn import ric

import benchlib
import ledger_http
import payments_orders
from lendbridge.decisions.policies import ensure_default_policy
from lendbridge.identity import kyc, passwords
from lendbridge.identity.models import UserKind
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.registration import new_customer
from lendbridge.identity.signin import Policy, start_session
from lendbridge.identity.tokens import TokenSigner
from lendbridge.identity.users import seed_catalog
from lendbridge.identity.verification import DevelopmentVerifier
from lendbridge.kit import crypto
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine
from lendbridge.kit.logging import configure_logging
from lendbridge.kit.startup import freeze_startup_objects
from lendbridge.origination.demo import german_profiles
from lendbridge.products.demo import load_products_demo
from lendbridge.scoring.demo import train_demo_model

TARGET_P99_MS = 50.0
TARGET_RATE = 50.0
PRODUCT = "CONSUMER-EI"
SYSTEM = system_actor("bench")


def resident_id(i: int, rng: random.Random) -> str:
    born = dt.date(1970, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
    stem = f"110105{born:%Y%m%d}{i % 1000:03d}"
    return stem + ric.calc_check_digit(stem + "0")  # it reads the first 17 digits


def card_number(i: int) -> str:
    """A Luhn-valid debit card number on a known BIN (ICBC 622202)."""
    stem = f"622202{i:012d}"
    digits = [int(d) for d in stem]
    total = 0
    for k, d in enumerate(reversed(digits)):
        if k % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return stem + str((10 - total % 10) % 10)


def make_world(url: str, borrowers: int) -> tuple[list[str], float, float]:
    """Products, policy, champion; ``borrowers`` verified borrowers with bound cards and
    their access tokens. Returns (tokens, seconds to train, seconds for the borrowers)."""
    engine = make_engine(url, pool_size=2)
    rng = random.Random(11)
    verifier = DevelopmentVerifier()
    one_hash = passwords.hash_password("bench borrower secret")
    policy = Policy(
        signer=TokenSigner(ledger_http.TOKEN_SECRET.encode(), access_ttl=dt.timedelta(hours=6)),
        limiter=RateLimiter.from_url(None),
    )
    tokens: list[str] = []
    try:
        with Session(engine) as session:
            seed_catalog(session)
            load_products_demo(session)
            ensure_default_policy(session, SYSTEM)
            t0 = time.perf_counter()
            train_demo_model(session, SYSTEM)
            trained = time.perf_counter() - t0
            session.commit()
        t0 = time.perf_counter()
        original = passwords.hash_password
        passwords.hash_password = lambda _password: one_hash  # type: ignore[assignment]
        try:
            for start in range(0, borrowers, 200):
                with Session(engine) as session:
                    for i in range(start, min(start + 200, borrowers)):
                        user = new_customer(
                            session,
                            phone=f"139{i:08d}",
                            password="bench borrower secret",
                            kind=UserKind.BORROWER,
                        )
                        me = Actor(user_id=str(user.id), roles=("borrower",))
                        kyc.verify_identity(
                            session, verifier, me, name="张伟", resident_id=resident_id(i, rng)
                        )
                        kyc.bind_card(
                            session,
                            verifier,
                            me,
                            card_number=card_number(i),
                            reserved_mobile=f"138{i:08d}",
                            step_up_code=None,
                        )
                        tokens.append(start_session(session, policy, user).access_token)
                    session.commit()
        finally:
            passwords.hash_password = original  # type: ignore[assignment]
        people = time.perf_counter() - t0
    finally:
        engine.dispose()
    return tokens, trained, people


def applicants(n: int, seed: int) -> list[dict[str, Any]]:
    profiles = german_profiles()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        features = dict(rng.choice(profiles))
        out.append(
            {
                "product_code": PRODUCT,
                "amount": rng.choice([3_000_00, 8_000_00, 15_000_00, 30_000_00]),
                "term": rng.choice([6, 12]),
                "purpose": rng.choice(["consumption", "education", "travel", "medical"]),
                "employment": rng.choice(["employed", "self_employed", "civil_servant"]),
                "monthly_income": rng.choice([6_000_00, 12_000_00, 25_000_00]),
                "declared_monthly_obligations": rng.choice([0, 1_000_00, 3_000_00]),
                "features": features,
            }
        )
    return out


def load(port: int, tokens: list[str], rate: float, seconds: float, warmup: int) -> dict[str, Any]:
    """Open loop at ``rate``: request k is due at start + k / rate; a pool large enough that
    a slow answer does not hold the next one back."""
    total = int(rate * seconds)
    bodies = applicants(total + warmup, seed=5)
    if len(tokens) < total + warmup:
        raise ValueError("fewer borrowers than requests: each applies once")
    # What importing the platform built stays out of full collections: their stalls would
    # show as the server's latency (the server does the same at start-up).
    freeze_startup_objects()
    local = threading.local()
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []  # (slot, latency): where the slow ones fall
    outcomes: collections.Counter[str] = collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def http() -> httpx.Client:
        client: httpx.Client | None = getattr(local, "client", None)
        if client is None:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            local.client = client
        return client

    def send(k: int, due: float | None) -> None:
        headers = {"Authorization": f"Bearer {tokens[k]}", "Idempotency-Key": uuid.uuid4().hex}
        if due is not None:
            while (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
        response = http().post("/v1/me/applications", json=bodies[k], headers=headers)
        took = time.perf_counter() - (due if due is not None else 0.0)
        with lock:
            if response.status_code == 201:
                outcomes[response.json()["status"]] += 1
            else:
                errors.append(f"{response.status_code} {response.text[:300]}")
            if due is not None:
                latencies.append(took)
                timeline.append((due, took))

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda k: send(k, None), range(warmup)))
        start = time.perf_counter() + 0.5
        futures = [pool.submit(send, warmup + k, start + k / rate) for k in range(total)]
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - start
    slowest = sorted(timeline, key=lambda x: -x[1])[: max(1, total // 100)]
    return {
        "slowest": [(round(at - start, 2), round(took * 1000, 1)) for at, took in sorted(slowest)],
        "rate": rate,
        "seconds": seconds,
        "requests": total,
        "achieved_rps": total / elapsed,
        "outcomes": dict(outcomes),
        "errors": len(errors),
        "first_errors": errors[:5],
        **benchlib.latency_summary(latencies),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING")
    crypto.configure(Keyring.from_env(ledger_http.MASTER_KEYS))  # the server's keys
    needed = int(args.rate * args.seconds) + args.warmup
    with benchlib.ledger_database("apply") as url, tempfile.TemporaryDirectory() as var_dir:
        tokens, trained, people = make_world(url, needed)
        port = ledger_http.free_port()
        server = ledger_http.start_server(
            url,
            args.workers,
            port,
            {"LENDBRIDGE_RUN_JOBS": "false", "LENDBRIDGE_VAR_DIR": var_dir},
        )
        roles = {"server": server.pid, "bench": os.getpid()}
        try:
            cpu_before = payments_orders.cpu_snapshot(roles)
            cpu0 = ledger_http.server_cpu(server.pid)
            result = load(port, tokens, args.rate, args.seconds, args.warmup)
            sent = result["requests"] + args.warmup
            result["server_cpu_ms_per_request"] = (
                (ledger_http.server_cpu(server.pid) - cpu0) * 1000 / sent
            )
            cpu = payments_orders.cpu_delta(cpu_before, payments_orders.cpu_snapshot(roles))
            result["postgres_cpu_ms_per_request"] = cpu["postgres"] * 1000 / sent
            result["bench_cpu_ms_per_request"] = cpu["bench"] * 1000 / sent
            result["server_rss_mib"] = benchlib.rss_mib(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return {
        "workers": args.workers,
        "borrowers": needed,
        "train_seconds": round(trained, 1),
        "borrowers_seconds": round(people, 1),
        "load": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=None, help="req/s (default 50)")
    parser.add_argument("--seconds", type=float, default=None, help="default 20 (quick: 3)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--warmup", type=int, default=None, help="requests first, not timed")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    args.rate = args.rate or (20.0 if args.quick else TARGET_RATE)
    args.seconds = args.seconds or (3.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (10 if args.quick else 50)
    print(f"== applications_api: POST /v1/me/applications ({benchlib.command_line()})")
    info = benchlib.print_machine()
    result = run(args)
    r = result["load"]
    ok = r["p99_ms"] < TARGET_P99_MS and r["errors"] == 0
    print(
        f"setup: champion trained in {result['train_seconds']} s, {result['borrowers']} "
        f"verified borrowers with tokens in {result['borrowers_seconds']} s"
    )
    print(
        f"uvicorn --workers {result['workers']}, open loop at {r['rate']:.0f} req/s for "
        f"{r['seconds']:.0f} s: {r['requests']} applications ({r['achieved_rps']:.1f} req/s "
        f"achieved), outcomes {r['outcomes']}; p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} "
        f"ms, p99 {r['p99_ms']:.1f} ms (target < {TARGET_P99_MS:.0f} ms at "
        f"{TARGET_RATE:.0f} req/s {benchlib.verdict(ok)}), max {r['max_ms']:.1f} ms, "
        f"{r['errors']} errors"
    )
    print(
        f"  CPU per application: server {r['server_cpu_ms_per_request']:.2f} ms, PostgreSQL "
        f"{r['postgres_cpu_ms_per_request']:.2f} ms, load generator "
        f"{r['bench_cpu_ms_per_request']:.2f} ms; server resident {r['server_rss_mib']:.0f} MiB "
        "with the champion loaded (the master process with --workers > 1)"
    )
    print(f"  slowest 1 % (second of the run, ms): {r['slowest']}")
    if r["errors"]:
        print(f"  first errors: {r['first_errors']}")
    print(benchlib.loadavg())
    path = benchlib.save(
        "applications_api", {"machine": info, "result": result, "command": benchlib.command_line()}
    )
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
