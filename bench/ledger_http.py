"""The single-entry write workload through HTTP: the real server (uvicorn, the app factory,
1 worker and 2 workers) in a subprocess, 8 concurrent keep-alive clients POSTing
/v1/ledger/entries with unique Idempotency-Keys, and the server's RSS sampled throughout.

Two load generators: 8 threads with one httpx.Client each, in this process (closed loop, and
paced at fixed rates), and wrk (C, 8 keep-alive connections on one thread; installed from
Debian with apt when missing), which leaves the cores to the server and PostgreSQL the way
pgbench does for its own comparison. On a small machine a Python load generator competes with
the server for the same cores (its CPU per request is reported).

    .venv/bin/python bench/ledger_http.py            # 15 s per server configuration
    .venv/bin/python bench/ledger_http.py --quick    # 2 s, 1 worker only
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import psutil
from sqlalchemy.orm import Session

import benchlib
from lendbridge.identity.ratelimit import RateLimiter
from lendbridge.identity.signin import Policy, start_session
from lendbridge.identity.tokens import TokenSigner
from lendbridge.identity.users import create_staff, seed_catalog
from lendbridge.kit import crypto
from lendbridge.kit.actor import system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine
from lendbridge.kit.startup import freeze_startup_objects

CUSTOMERS = 10_000
BANKS = 10
TARGET_P99_MS = 25.0
TARGET_RSS_MIB = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def body(rng: random.Random) -> dict[str, Any]:
    customer = benchlib.customer_code(rng.randrange(CUSTOMERS))
    bank = benchlib.bank_code(rng.randrange(BANKS))
    debit, credit = (bank, customer) if rng.random() < 0.5 else (customer, bank)
    amount = rng.randint(1, 100_000)
    return {
        "postings": [
            {"account": debit, "side": "debit", "amount": amount, "currency": "CNY"},
            {"account": credit, "side": "credit", "amount": amount, "currency": "CNY"},
        ],
        "description": "bench transfer",
    }


class RssSampler(threading.Thread):
    """Samples the RSS of the server process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.stop_event = threading.Event()
        self.peak_total = 0.0
        self.peak_process = 0.0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                rss = []
                for p in procs:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        rss.append(p.memory_info().rss / 1024 / 1024)
                self.peak_total = max(self.peak_total, sum(rss))
                self.peak_process = max(self.peak_process, max(rss, default=0.0))
            except psutil.NoSuchProcess:
                return
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of the server process and its children (workers)."""
    total = 0.0
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


# The server signs and checks tokens with this key; the benchmark signs in as a system
# integration (the role allowed to post entries directly) with a token it issues itself.
TOKEN_SECRET = secrets.token_urlsafe(48)
MASTER_KEYS = Keyring.generate().to_env()
AUTH: dict[str, str] = {}


def sign_in_integration(url: str) -> dict[str, str]:
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            seed_catalog(session)
            user = create_staff(
                session,
                username="bench.integration",
                password="bench integration secret",
                roles=("integration",),
                by=system_actor("bench"),
            )
            policy = Policy(
                signer=TokenSigner(TOKEN_SECRET.encode(), access_ttl=dt.timedelta(hours=6)),
                limiter=RateLimiter.from_url(None),
            )
            tokens = start_session(session, policy, user)
            session.commit()
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {tokens.access_token}"}


def start_server(
    url: str, workers: int, port: int, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        LENDBRIDGE_DATABASE_URL=url,
        LENDBRIDGE_LOG_LEVEL="WARNING",
        LENDBRIDGE_TOKEN_SECRET=TOKEN_SECRET,
        LENDBRIDGE_MASTER_KEYS=MASTER_KEYS,
        **(extra_env or {}),
    )
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "lendbridge.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("server did not become healthy within 60 s")


def load(
    port: int, clients: int, seconds: float, warmup: int, tag: str, rate: float | None = None
) -> dict[str, Any]:
    """Closed loop (each client sends as soon as its last answer arrives: saturation) or, with
    ``rate``, paced: each client sends on a fixed schedule adding up to ``rate`` requests per
    second, and latency counts from the scheduled time, so queueing is not hidden."""
    # What importing the platform built stays out of full collections: their stalls would
    # show as the server's latency (the server does the same at start-up).
    freeze_startup_objects()
    barrier = threading.Barrier(clients)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    counts: list[float] = []

    def client(i: int) -> None:
        rng = random.Random(1000 + i)
        mine: list[float] = []
        failed: list[str] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for n in range(warmup):
                http.post(
                    "/v1/ledger/entries",
                    json=body(rng),
                    headers={"Idempotency-Key": f"{tag}-{i}-w{n}", **AUTH},
                )
            barrier.wait()
            perf = time.perf_counter
            start = perf()
            deadline = start + seconds
            interval = clients / rate if rate else 0.0
            n = 0
            while True:
                t0 = perf()
                if rate:
                    # Stagger clients across the interval; send at the scheduled instant.
                    scheduled = start + (n + i / clients) * interval
                    if scheduled > t0:
                        time.sleep(scheduled - t0)
                    t0 = scheduled
                if t0 >= deadline:
                    break
                response = http.post(
                    "/v1/ledger/entries",
                    json=body(rng),
                    headers={"Idempotency-Key": f"{tag}-{i}-{n}", **AUTH},
                )
                mine.append(perf() - t0)
                if response.status_code != 201:
                    failed.append(f"{response.status_code} {response.text[:200]}")
                n += 1
        with lock:
            latencies.extend(mine)
            errors.extend(failed)
            counts.append(len(mine))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    del began
    total = sum(counts)
    return {
        "rate_target": rate,
        "clients": clients,
        "requests": total,
        "seconds": seconds,
        "rps": total / seconds,
        "errors": len(errors),
        "first_errors": errors[:3],
        **benchlib.latency_summary(latencies),
    }


WRK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_entries.lua")


def ensure_wrk() -> str | None:
    """wrk from Debian's package, installed on first use; None when it cannot be had."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)
        found = shutil.which("wrk")
    return found


def wrk_load(wrk: str, port: int, clients: int, seconds: int, tag: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "CUSTOMERS": str(CUSTOMERS),
        "BANKS": str(BANKS),
        "RUN": tag,
        "AUTHORIZATION": AUTH["Authorization"],
    }
    out = subprocess.run(
        [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", WRK_SCRIPT, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    fields = dict(item.split("=") for item in line.split()[1:])
    result: dict[str, Any] = {k: float(v) for k, v in fields.items()}
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="*", default=None)
    parser.add_argument(
        "--rate",
        type=float,
        nargs="*",
        default=None,
        help="paced runs at these total requests/s (default 100 and 200; saturation always runs)",
    )
    args = parser.parse_args()
    args.workers = args.workers or ([1] if args.quick else [1, 2])
    rates: list[float | None] = [None, *(args.rate or ([100.0] if args.quick else [100.0, 200.0]))]
    seconds = args.seconds or (2 if args.quick else 15)
    warmup = 10 if args.quick else 50
    print(f"== ledger_http: POST /v1/ledger/entries ({benchlib.command_line()})")
    info = benchlib.print_machine()
    results: dict[str, Any] = {"machine": info, "command": benchlib.command_line(), "runs": {}}
    with benchlib.ledger_database("http") as url:
        engine = make_engine(url, pool_size=1)
        benchlib.open_accounts(engine, CUSTOMERS, BANKS)
        engine.dispose()
        crypto.configure(Keyring.from_env(MASTER_KEYS))
        AUTH.update(sign_in_integration(url))
        for workers in args.workers:
            port = free_port()
            server = start_server(url, workers, port)
            sampler = RssSampler(server.pid)
            sampler.start()
            server_cpu0, client_cpu0 = server_cpu(server.pid), time.process_time()
            try:
                paced = [
                    load(port, args.clients, seconds, 0, f"h{workers}-r{rate:.0f}", rate)
                    for rate in rates[1:]
                    if rate is not None
                ]
                r = load(port, args.clients, seconds, warmup, f"h{workers}")
                wrk = ensure_wrk()
                r["wrk"] = (
                    wrk_load(wrk, port, args.clients, seconds, f"wrk{workers}-{os.getpid()}")
                    if wrk
                    else None
                )
                # CPU per request over every request this server answered (paced runs, the
                # closed loop with its warm-up, wrk): where the cores go.
                sent = (
                    r["requests"]
                    + warmup * args.clients
                    + sum(p["requests"] for p in paced)
                    + (r["wrk"]["requests"] if r["wrk"] else 0)
                )
                r["server_cpu_ms_per_request"] = (
                    (server_cpu(server.pid) - server_cpu0) * 1000 / sent
                )
                r["client_cpu_ms_per_request"] = (time.process_time() - client_cpu0) * 1000 / sent
            finally:
                sampler.stop()
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
            r["workers"] = workers
            r["paced"] = paced
            r["peak_rss_process_mib"] = sampler.peak_process
            r["peak_rss_total_mib"] = sampler.peak_total
            results["runs"][workers] = r
            ok_p99 = r["p99_ms"] < TARGET_P99_MS
            ok_rss = sampler.peak_process < TARGET_RSS_MIB
            print(
                f"uvicorn --workers {workers}, {args.clients} clients: {r['rps']:.0f} req/s, "
                f"p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
                f"(target < {TARGET_P99_MS:.0f} ms {benchlib.verdict(ok_p99)}), "
                f"{r['errors']} errors; peak RSS per server process "
                f"{sampler.peak_process:.0f} MiB (target < {TARGET_RSS_MIB:.0f} "
                f"{benchlib.verdict(ok_rss)}), all server processes {sampler.peak_total:.0f} MiB"
            )
            print(
                f"  CPU per request: server {r['server_cpu_ms_per_request']:.2f} ms, load "
                f"generator {r['client_cpu_ms_per_request']:.2f} ms (PostgreSQL not counted)"
            )
            if r["errors"]:
                print(f"  first errors: {r['first_errors']}")
            if r["wrk"]:
                w = r["wrk"]
                ok = w["p99_ms"] < TARGET_P99_MS
                print(
                    f"  wrk (C load generator), {args.clients} connections: {w['rps']:.0f} req/s, "
                    f"p50 {w['p50_ms']:.2f} ms, p95 {w['p95_ms']:.2f} ms, p99 {w['p99_ms']:.2f} ms "
                    f"(target < {TARGET_P99_MS:.0f} ms {benchlib.verdict(ok)}), "
                    f"{w['errors']:.0f} errors"
                )
            for p in paced:
                ok = p["p99_ms"] < TARGET_P99_MS
                print(
                    f"  paced {p['rate_target']:.0f} req/s over {args.clients} clients: "
                    f"achieved {p['rps']:.0f} req/s, p50 {p['p50_ms']:.2f} ms, "
                    f"p95 {p['p95_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms "
                    f"(target < {TARGET_P99_MS:.0f} ms {benchlib.verdict(ok)}), "
                    f"{p['errors']} errors"
                )
    print(benchlib.loadavg())
    path = benchlib.save("ledger_http", results)
    print(f"raw results: {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
