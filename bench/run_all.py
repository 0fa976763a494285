"""Run every ledger benchmark, one after another, each in its own process (and database).

    .venv/bin/python bench/run_all.py            # full figures, ~15 minutes
    .venv/bin/python bench/run_all.py --quick    # smoke run: each script a few seconds
    .venv/bin/python bench/run_all.py --only ledger_write hordak_compare

Output of each script goes to stdout and to bench/out/<script>.log; each script also saves
its raw figures as JSON under bench/out/. Exit status is non-zero if a script failed (a
missed performance target is not a failure: it is a figure).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import benchlib

SCRIPTS = [
    "ledger_write",
    "hordak_compare",
    "ledger_http",
    "ledger_bulk",
    "ledger_balance_read",
    "identity_auth",
    "audit_trail",
    "schedules",
    "cob",
    "repayments_api",
    "applications_api",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds each")
    parser.add_argument("--only", nargs="*", choices=SCRIPTS, default=SCRIPTS)
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="passed to every script")
    args = parser.parse_args()
    benchlib.OUT_DIR.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only:
        cmd = [sys.executable, str(benchlib.BENCH_DIR / f"{name}.py")]
        if args.quick:
            cmd.append("--quick")
        cmd += args.extra
        print(f"\n##### {name}", flush=True)
        began = time.monotonic()
        log = benchlib.OUT_DIR / f"{name}.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                sink.write(line)
            proc.wait()
        print(f"##### {name}: exit {proc.returncode} in {time.monotonic() - began:.0f} s")
        if proc.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
