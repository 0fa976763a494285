"""Shared helpers for the benchmark scripts: the machine, fresh databases, pgbench, figures.

Every script creates its own PostgreSQL database (prefix ``lb_bench_``), migrates it with the
project's Alembic migrations, starts the business calendar the way the tests do, and drops it
at the end. Set LB_BENCH_PG_URL to point at another server (default: local trust auth).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, make_url, text
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.db import make_engine
from lendbridge.kit.migrate import upgrade
from lendbridge.ledger.models import Account, AccountStatus, AccountType, Side

ADMIN_URL = os.environ.get("LB_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
TODAY = dt.date(2026, 1, 15)
PGBENCH = os.environ.get("LB_BENCH_PGBENCH", "/usr/bin/pgbench")


# --- the machine ----------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine() -> dict[str, Any]:
    engine = make_engine(ADMIN_URL, pool_size=1)
    try:
        with engine.connect() as conn:
            pg_version = conn.execute(text("SHOW server_version")).scalar_one()
            settings = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections")
            }
    finally:
        engine.dispose()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_ram_gib(), 1),
        "postgresql": pg_version,
        "pg_settings": settings,
        "python": platform.python_version(),
        "os": platform.platform(),
        "loadavg": os.getloadavg(),
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, and whether src/ had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def print_machine() -> dict[str, Any]:
    info = machine()
    settings = ", ".join(f"{k}={v}" for k, v in info["pg_settings"].items())
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; "
        f"PostgreSQL {info['postgresql']} ({settings}); "
        f"Python {info['python']}; {info['os']}; load average {info['loadavg'][0]:.2f}; "
        f"code {info['code']}"
    )
    return info


# --- databases ------------------------------------------------------------------------------


def _admin() -> Engine:
    return make_engine(ADMIN_URL, pool_size=1).execution_options(isolation_level="AUTOCOMMIT")


def create_database(name: str) -> str:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def db_name(purpose: str) -> str:
    return f"lb_bench_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def start_calendar(engine: Engine) -> None:
    with Session(engine) as session:
        calendar.set_business_date(session, TODAY)
        session.commit()


@contextlib.contextmanager
def ledger_database(purpose: str) -> Iterator[str]:
    """A fresh, migrated lendbridge database with the business calendar started; its URL."""
    name = db_name(purpose)
    url = create_database(name)
    try:
        engine = make_engine(url, pool_size=1)
        try:
            upgrade(engine)
            start_calendar(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        drop_database(name)


def customer_code(i: int) -> str:
    return f"cust.{i:06d}"


def bank_code(i: int) -> str:
    return f"bank.{i:02d}"


def open_accounts(engine: Engine, customers: int, banks: int, currency: str = "CNY") -> None:
    """The chart for the write benchmarks: customer wallets (liabilities, no overdraft limit
    so random transfers never fail) and a few bank accounts (assets). Inserted in bulk: the
    accounts are the fixture, not what is measured."""
    now = dt.datetime.now(dt.UTC)

    def row(code: str, type_: AccountType, side: Side) -> dict[str, Any]:
        return {
            "code": code,
            "name": code,
            "type": type_.value,
            "normal_side": side.value,
            "currency": currency,
            "status": AccountStatus.OPEN.value,
            "min_balance": None,
            "debits_posted": 0,
            "credits_posted": 0,
            "debits_pending": 0,
            "credits_pending": 0,
            "created_at": now,
            "updated_at": now,
        }

    rows = [row(customer_code(i), AccountType.LIABILITY, Side.CREDIT) for i in range(customers)]
    rows += [row(bank_code(i), AccountType.ASSET, Side.DEBIT) for i in range(banks)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Account), rows[start : start + 5000])
        conn.execute(text("ANALYZE ledger_account"))


# --- pgbench --------------------------------------------------------------------------------


@contextlib.contextmanager
def pgbench_database(scale: int = 10) -> Iterator[str]:
    """A database initialised by ``pgbench -i -s scale``; yields its name."""
    name = db_name("pgbench")
    create_database(name)
    try:
        subprocess.run(
            [PGBENCH, *_pg_args(), "-i", "-q", "-s", str(scale), name],
            check=True,
            capture_output=True,
            text=True,
        )
        yield name
    finally:
        drop_database(name)


def _pg_args() -> list[str]:
    url = make_url(ADMIN_URL)
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    return args


def run_pgbench(
    database: str,
    clients: int,
    threads: int,
    seconds: int,
    script: str | None = None,
    per_statement: bool = False,
) -> dict[str, Any]:
    """Run pgbench's built-in TPC-B-like script (or a custom ``script``, in extended query
    mode, without the initial vacuum); tps and mean latency (ms)."""
    extra: list[str] = []
    if script is not None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        path = OUT_DIR / f"pgbench_script_{os.getpid()}.sql"
        path.write_text(script)
        extra = ["-n", "-M", "extended", "-f", str(path)]
    if per_statement:
        extra.append("-r")
    cmd = [
        PGBENCH,
        *_pg_args(),
        *extra,
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-T",
        str(seconds),
        database,
    ]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    finally:
        if script is not None:
            path.unlink(missing_ok=True)
    if proc.returncode != 0:  # say why (a client aborted on an error, say), not only the code
        raise RuntimeError(f"pgbench exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
    lat = re.search(r"latency average = ([0-9.]+) ms", proc.stdout)
    if tps is None:
        raise RuntimeError(f"cannot parse pgbench output:\n{proc.stdout}\n{proc.stderr}")
    statements = [
        (float(m.group(1)), m.group(2).strip())
        for m in re.finditer(r"^\s+([0-9.]+)\s+\d+\s+(\S.*)$", proc.stdout, re.MULTILINE)
        if not m.group(2).startswith("\\")
    ]
    return {
        "statements_ms": statements,
        "clients": clients,
        "tps": float(tps.group(1)),
        "latency_mean_ms": float(lat.group(1)) if lat else float("nan"),
        "command": f"pgbench -c {clients} -j {threads} -T {seconds} "
        + ("(TPC-B-like, scale 10)" if script is None else "-n -M extended -f <script>"),
    }


# --- figures --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
    }


def loadavg() -> str:
    return "load average now {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def save(name: str, payload: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = OUT_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def command_line() -> str:
    return " ".join([".venv/bin/python", *[os.path.relpath(sys.argv[0])], *sys.argv[1:]])


def rss_mib(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 1024 / 1024
