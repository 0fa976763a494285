"""Repayment-schedule generation on one core: ``build_schedule`` from terms to installments.

The headline case is the issue's target: equal installment, monthly, 12 installments, at
least 20,000 schedules per second on one core. Each schedule is built from fresh ``Terms``
(validation included) with a different principal and rate, so nothing is cached between
schedules; the figure is the median of ``--rounds`` timed batches. The same is measured for
the other methods, daily interest, a long term, and separately the APR (IRR by Newton's
method in Decimal) of a built schedule. The process is pinned to one CPU. No database.

    .venv/bin/python bench/schedules.py            # full figures (~30 s)
    .venv/bin/python bench/schedules.py --quick    # smoke run (~3 s)
    .venv/bin/python bench/schedules.py --profile  # + cProfile of the headline case
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import benchlib
from lendbridge.servicing.schedule import Terms, apr, build_schedule

TARGET_PER_S = 20_000
START = dt.date(2026, 1, 31)  # a month-end start: due dates clamp (Feb 28, Mar 31, ...)
RATES = [Decimal(r) for r in ("7.2", "8.4", "12", "15.4", "18", "23.99", "24", "35.9")]

CASES: dict[str, dict[str, Any]] = {
    "equal_installment monthly 12": {"method": "equal_installment", "term": 12},
    "equal_principal monthly 12": {"method": "equal_principal", "term": 12},
    "flat monthly 12": {"method": "flat", "term": 12},
    "interest_only monthly 12": {"method": "interest_only", "term": 12},
    "bullet monthly 12": {"method": "bullet", "term": 12},
    "single 30 days": {"frequency": "single", "term": 30},
    "equal_installment monthly 12, daily ACT/ACT": {
        "term": 12,
        "interest_period": "daily",
        "day_count": "ACT/ACT",
    },
    "equal_installment monthly 12, fees, grace, whole yuan": {
        "term": 12,
        "principal_grace": 1,
        "interest_grace": 1,
        "installment_multiple": 100,
        "upfront_fee_percent": Decimal("1.5"),
        "installment_fee_fixed": 500,
    },
    "equal_installment weekly 52": {"frequency": "weekly", "term": 52},
    "equal_installment monthly 360": {"term": 360},
}
HEADLINE = "equal_installment monthly 12"


def terms_list(count: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    """``count`` distinct inputs: principals from 1,000.00 to about 500,000.00, eight rates."""
    return [
        {
            "principal": 100_000 + 4_999_877 * i % 50_000_000,
            "annual_rate_percent": RATES[i % len(RATES)],
            "start": START,
            **options,
        }
        for i in range(count)
    ]


def per_second(batch: int, run: Callable[[], None], rounds: int) -> dict[str, float]:
    seconds = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    median = statistics.median(seconds)
    return {
        "per_s": batch / median,
        "us_each": median / batch * 1e6,
        "best_per_s": batch / min(seconds),
        "rounds": rounds,
        "batch": batch,
    }


def measure_build(batch: int, rounds: int, options: dict[str, Any]) -> dict[str, float]:
    inputs = terms_list(batch, options)

    def run() -> None:
        for values in inputs:
            build_schedule(Terms(**values))

    return per_second(batch, run, rounds)


def measure_build_only(batch: int, rounds: int, options: dict[str, Any]) -> dict[str, float]:
    prepared = [Terms(**values) for values in terms_list(batch, options)]

    def run() -> None:
        for terms in prepared:
            build_schedule(terms)

    return per_second(batch, run, rounds)


def measure_apr(batch: int, rounds: int, options: dict[str, Any]) -> dict[str, float]:
    schedules = [build_schedule(Terms(**values)) for values in terms_list(batch, options)]

    def run() -> None:
        for schedule in schedules:
            apr(schedule)

    return per_second(batch, run, rounds)


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def print_machine(pinned: str) -> dict[str, Any]:
    info = {
        "cpu": benchlib._cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(benchlib._ram_gib(), 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "loadavg": os.getloadavg(),
        "pinned": pinned,
    }
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; "
        f"Python {info['python']}; {info['os']}; load average {info['loadavg'][0]:.2f}; "
        f"{pinned}"
    )
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, a few seconds")
    parser.add_argument("--rounds", type=int, default=None, help="timed batches per case")
    parser.add_argument("--profile", action="store_true", help="cProfile the headline case")
    args = parser.parse_args()
    batch = 2_000 if args.quick else 20_000
    rounds = args.rounds or (3 if args.quick else 7)
    info = print_machine(pin_to_one_core())
    results: dict[str, Any] = {"machine": info, "command": benchlib.command_line(), "cases": {}}

    print(f"\nschedule generation, fresh Terms each (median of {rounds} batches of {batch}):")
    for name, options in CASES.items():
        figures = measure_build(batch, rounds, options)
        results["cases"][name] = figures
        mark = f"  target {TARGET_PER_S:,}/s: {benchlib.verdict(figures['per_s'] >= TARGET_PER_S)}"
        print(
            f"  {name:<55} {figures['per_s']:>9,.0f}/s  {figures['us_each']:>7.1f} µs"
            + (mark if name == HEADLINE else "")
        )

    headline = CASES[HEADLINE]
    only = measure_build_only(batch, rounds, headline)
    results["build_only"] = only
    print(
        f"\n{HEADLINE}, Terms prebuilt (build_schedule alone): "
        f"{only['per_s']:,.0f}/s, {only['us_each']:.1f} µs"
    )
    print("\nAPR (IRR, Newton in Decimal) of a built schedule:")
    results["apr"] = {}
    for name in (HEADLINE, "flat monthly 12", "equal_installment monthly 360"):
        figures = measure_apr(max(batch // 10, 200), rounds, CASES[name])
        results["apr"][name] = figures
        print(f"  {name:<55} {figures['per_s']:>9,.0f}/s  {figures['us_each']:>7.1f} µs")

    if args.profile:
        inputs = terms_list(batch, headline)
        profiler = cProfile.Profile()
        profiler.enable()
        for values in inputs:
            build_schedule(Terms(**values))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    print(f"\n{benchlib.loadavg()}")
    print(f"saved {benchlib.save('schedules', results)}")


if __name__ == "__main__":
    main()
