"""The single-client write workload of ledger_write.py against django-hordak, in one run with
lendbridge and pgbench on the same PostgreSQL.

django-hordak is installed by this script into its own virtual environment
(bench/.venvs/hordak, versions pinned below), with a tiny generated Django settings module;
its database is migrated with hordak's migrations. Both ledgers get 10,000 customer accounts
(liabilities) and 10 bank accounts (assets) and post the same random deposits/withdrawals,
each entry its own database transaction, one client:

* lendbridge: ``service.post_entry`` (two postings, idempotency key) in ``unit_of_work``;
* hordak: ``Account.transfer_to`` (a Transaction and two Legs) in ``transaction.atomic()``.
  Hordak has no idempotency keys and keeps no running totals, so it does less per entry.

    .venv/bin/python bench/hordak_compare.py [--quick] [--seconds N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import benchlib
import ledger_write
from lendbridge.kit.db import make_engine

VENV = benchlib.BENCH_DIR / ".venvs" / "hordak"
PINS = [
    "django-hordak==2.0.0",
    "Django==5.2.19",
    "django-mptt==0.20.0",
    "django-money==3.6.2",
    "py-moneyed==3.0",
    "psycopg[binary]==3.3.9",
]
TARGET = 1.5

SETTINGS = """\
SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "djmoney",
    "hordak",
]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {name!r},
        "HOST": {host!r},
        "PORT": {port!r},
        "USER": {user!r},
        "PASSWORD": {password!r},
        "CONN_MAX_AGE": None,
    }}
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DEFAULT_CURRENCY = "CNY"
CURRENCIES = ["CNY"]
HORDAK_CURRENCIES = ["CNY"]
HORDAK_INTERNAL_CURRENCY = "CNY"
"""

# Runs inside the hordak virtual environment; prints one JSON line with its figures.
RUNNER = """\
import json, random, sys, time
from decimal import Decimal

import django
django.setup()
from django.core.management import call_command
from django.db import transaction
from hordak.models import Account, AccountType
from moneyed import Money

mode, customers, banks, seconds, warmup = sys.argv[1], *map(int, sys.argv[2:6])
if mode == "setup":
    call_command("migrate", verbosity=0)
    rows = [
        Account(name=f"cust.{i:06d}", type=AccountType.liability, currencies=["CNY"],
                tree_id=i + 1, lft=1, rght=2, level=0)
        for i in range(customers)
    ]
    rows += [
        Account(name=f"bank.{i:02d}", type=AccountType.asset, currencies=["CNY"],
                tree_id=customers + i + 1, lft=1, rght=2, level=0)
        for i in range(banks)
    ]
    Account.objects.bulk_create(rows, batch_size=2000)
    print(json.dumps({"accounts": Account.objects.count()}))
    sys.exit(0)

by_name = {a.name: a for a in Account.objects.all()}
cust = [by_name[f"cust.{i:06d}"] for i in range(customers)]
bank = [by_name[f"bank.{i:02d}"] for i in range(banks)]
rng = random.Random(1)


def one():
    c = cust[rng.randrange(customers)]
    b = bank[rng.randrange(banks)]
    amount = Money(Decimal(rng.randint(1, 100_000)) / 100, "CNY")
    with transaction.atomic():
        if rng.random() < 0.5:  # deposit: bank debit, customer credit
            c.transfer_to(b, amount, description="bench transfer")
        else:  # withdrawal: customer debit, bank credit
            b.transfer_to(c, amount, description="bench transfer")


for _ in range(warmup):
    one()
lat = []
perf = time.perf_counter
began = perf()
deadline = began + seconds
while True:
    t0 = perf()
    if t0 >= deadline:
        break
    one()
    lat.append(perf() - t0)
elapsed = perf() - began
print(json.dumps({"entries": len(lat), "seconds": elapsed, "latencies": lat}))
"""


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / "pins.txt"
    if python.exists() and marker.exists() and marker.read_text() == "\n".join(PINS):
        return python
    print(f"creating {VENV} with {' '.join(PINS)}", flush=True)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
        check=True,
    )
    marker.write_text("\n".join(PINS))
    return python


def write_project(directory: Path, url: str) -> None:
    from sqlalchemy import make_url

    parsed = make_url(url)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench_settings.py").write_text(
        SETTINGS.format(
            name=parsed.database,
            host=parsed.host or "127.0.0.1",
            port=str(parsed.port or 5432),
            user=parsed.username or "postgres",
            password=parsed.password or "",
        )
    )
    (directory / "hordak_runner.py").write_text(RUNNER)


def run_hordak(python: Path, directory: Path, *argv: Any) -> dict[str, Any]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench_settings", PYTHONPATH=str(directory))
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [str(python), str(directory / "hordak_runner.py"), *map(str, argv)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def hordak_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('django-hordak'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--seconds", type=int, default=None, help="per phase (default 15)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    seconds = args.seconds or (2 if args.quick else 15)
    warmup = 30 if args.quick else ledger_write.WARMUP
    customers, banks = ledger_write.CUSTOMERS, ledger_write.BANKS
    print(f"== hordak_compare: 1 client, lendbridge vs django-hordak ({benchlib.command_line()})")
    info = benchlib.print_machine()
    python = ensure_venv()
    version = hordak_version(python)
    print(f"django-hordak {version} in {os.path.relpath(VENV)} ({', '.join(PINS)})")
    hordak_db = benchlib.db_name("hordak")
    hordak_url = benchlib.create_database(hordak_db)
    project = benchlib.OUT_DIR / f"hordak_project_{os.getpid()}"
    rounds: list[dict[str, Any]] = []
    try:
        write_project(project, hordak_url)
        setup = run_hordak(python, project, "setup", customers, banks, 0, 0)
        print(f"hordak database migrated, {setup['accounts']} accounts")
        with benchlib.pgbench_database(scale=10) as pgdb, benchlib.ledger_database("hordak") as url:
            engine = make_engine(url, pool_size=1)
            benchlib.open_accounts(engine, customers, banks)
            engine.dispose()
            for r in range(args.rounds):
                pg = benchlib.run_pgbench(pgdb, 1, 1, seconds)
                lb = ledger_write.one_client(url, seconds, tag=f"hc{r}", warmup=warmup)
                raw = run_hordak(python, project, "run", customers, banks, seconds, warmup)
                hk = {
                    "entries": raw["entries"],
                    "seconds": raw["seconds"],
                    "eps": raw["entries"] / raw["seconds"],
                    **benchlib.latency_summary(raw["latencies"]),
                }
                rounds.append({"pgbench": pg, "lendbridge": lb, "hordak": hk})
                print(
                    f"  round {r + 1}: pgbench {pg['tps']:.0f} tps | lendbridge "
                    f"{ledger_write.fmt(lb)} | hordak {ledger_write.fmt(hk)}"
                )
    finally:
        benchlib.drop_database(hordak_db)
    pg_tps = statistics.fmean(x["pgbench"]["tps"] for x in rounds)

    def total(name: str) -> float:
        return sum(x[name]["entries"] for x in rounds) / sum(x[name]["seconds"] for x in rounds)

    lb_eps, hk_eps = total("lendbridge"), total("hordak")
    ratio = lb_eps / hk_eps
    print(f"pgbench 1 client: {pg_tps:.0f} tps")
    print(f"lendbridge: {lb_eps:.0f} entries/s = {lb_eps / pg_tps:.2f} x pgbench")
    print(f"hordak    : {hk_eps:.0f} entries/s = {hk_eps / pg_tps:.2f} x pgbench")
    print(
        f"lendbridge/hordak = {ratio:.2f} (target >= {TARGET}) {benchlib.verdict(ratio >= TARGET)}"
    )
    print(benchlib.loadavg())
    path = benchlib.save(
        "hordak_compare",
        {
            "machine": info,
            "command": benchlib.command_line(),
            "hordak_version": version,
            "pins": PINS,
            "rounds": [
                {k: {kk: vv for kk, vv in v.items() if kk != "latencies"} for k, v in x.items()}
                for x in rounds
            ],
            "pgbench_tps": pg_tps,
            "lendbridge_eps": lb_eps,
            "hordak_eps": hk_eps,
            "ratio": ratio,
            "pass": ratio >= TARGET,
        },
    )
    print(f"raw results: {os.path.relpath(path)}")
    if project.exists():
        for child in project.iterdir():
            if child.is_file():
                child.unlink()
        for pycache in project.glob("__pycache__"):
            for f in pycache.iterdir():
                f.unlink()
            pycache.rmdir()
        project.rmdir()


if __name__ == "__main__":
    sys.exit(main())
