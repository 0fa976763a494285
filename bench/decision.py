"""A credit decision in process (policy + limit + pricing, no database, no model): the
default policy ``standard`` over the demo's products with a representative fake score
(a score and four characteristics' points lost).

Figures: the p99 latency of one evaluation (target: under 10 ms for score + policy +
pricing; this measures the policy and pricing part) in the steady state (caches warm) and
with every cache cleared before each call (the worst case: a new product, term, start date
and rate each time); and evaluations per second over a batch of distinct applications
(target: 10,000 a second). Each application differs in age, income, obligations, amount,
term, product and score, so the batch hits the schedule caches only where real traffic
would (the same product, term and grade rate).

    .venv/bin/python bench/decision.py            # full figures (~20 s)
    .venv/bin/python bench/decision.py --quick    # smoke run (~3 s)
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from typing import Any

import benchlib
from lendbridge.decisions import expressions, offer_math
from lendbridge.decisions.default_policy import default_policy
from lendbridge.decisions.evaluate import compile_policy, evaluate
from lendbridge.decisions.facts import Facts, Score, ScoreReason
from lendbridge.products.demo import PRODUCTS

TARGET_P99_MS = 10.0
TARGET_PER_S = 10_000
START = dt.date(2026, 1, 15)
CHARACTERISTICS = (
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "savings_account_and_bonds",
    "present_employment_since",
    "age_in_years",
)


def applications(n: int, seed: int) -> list[tuple[Facts, Score]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        product = rnd.choice(PRODUCTS)
        facts = Facts.model_validate(
            {
                "age": rnd.randint(18, 70),
                "kyc_level": rnd.choice(["identity_verified", "bank_card_bound", "enhanced"]),
                "monthly_income": rnd.randint(2_000, 60_000) * 100,
                "declared_monthly_obligations": rnd.choice([0, 0, 500_00, 2_000_00]),
                "platform_monthly_obligations": rnd.choice([0, 0, 0, 1_000_00]),
                "platform_outstanding": rnd.choice([0, 0, 10_000_00]),
                "overdue_loans": rnd.choice([0] * 19 + [1]),
                "blacklisted": rnd.random() < 0.01,
                "applications_7d": rnd.choice([0, 0, 1, 2, 5]),
                "applications_30d": rnd.choice([0, 1, 2, 3, 8]),
                "requested_amount": rnd.randint(product["min_amount"], product["max_amount"])
                // 100
                * 100,
                "requested_term": rnd.choice(product["allowed_terms"]),
                "product": product,
                "start": START.isoformat(),
            }
        )
        lost = rnd.sample(CHARACTERISTICS, 4)
        score = Score(
            rnd.randint(450, 750),
            rnd.random() * 0.5,
            tuple(ScoreReason(c, round(rnd.random() * 30, 2), None) for c in lost),
        )
        out.append((facts, score))
    return out


def clear_caches() -> None:
    offer_math._bases.clear()
    for cached in (
        offer_math.at_principal,
        offer_math.monthly_burden,
        offer_math.offer_apr,
        offer_math.burden_per_principal,
    ):
        cached.cache_clear()
    expressions.compile_expression.cache_clear()


def single_latencies(cases: list[tuple[Facts, Score]], *, cold: bool) -> list[float]:
    policy = compile_policy(default_policy())
    seconds = []
    for facts, score in cases:
        if cold:
            clear_caches()
            policy = compile_policy(default_policy())
        t0 = time.perf_counter()
        evaluate(policy, facts, score)
        seconds.append(time.perf_counter() - t0)
    return seconds


def batch_rate(cases: list[tuple[Facts, Score]]) -> tuple[float, dict[str, int]]:
    clear_caches()
    policy = compile_policy(default_policy())
    outcomes: dict[str, int] = {}
    t0 = time.perf_counter()
    for facts, score in cases:
        outcome = evaluate(policy, facts, score).outcome.value
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return len(cases) / (time.perf_counter() - t0), outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smoke run (small numbers).")
    args = parser.parse_args()
    machine = benchlib.print_machine()
    n_single, n_batch = (500, 2_000) if args.quick else (5_000, 50_000)
    warm_cases = applications(n_single, seed=1)
    single_latencies(warm_cases, cold=False)  # warm the caches as a serving process would
    warm = benchlib.latency_summary(single_latencies(warm_cases, cold=False))
    cold = benchlib.latency_summary(single_latencies(applications(n_single // 5, 2), cold=True))
    per_s, outcomes = batch_rate(applications(n_batch, seed=3))
    results: dict[str, Any] = {
        "single_warm": warm,
        "single_cold": cold,
        "batch": {"n": n_batch, "per_s": per_s, "outcomes": outcomes},
    }
    print(
        f"single decision, caches warm:  p50 {warm['p50_ms']:.3f} ms  p99 {warm['p99_ms']:.3f} ms"
    )
    print(
        f"single decision, caches cold:  p50 {cold['p50_ms']:.3f} ms  p99 {cold['p99_ms']:.3f} ms"
    )
    print(
        f"p99 under {TARGET_P99_MS} ms: "
        f"{benchlib.verdict(max(warm['p99_ms'], cold['p99_ms']) < TARGET_P99_MS)}"
    )
    print(f"batch of {n_batch} distinct applications: {per_s:,.0f} decisions/s {outcomes}")
    print(f"at least {TARGET_PER_S:,}/s: {benchlib.verdict(per_s >= TARGET_PER_S)}")
    print(benchlib.loadavg())
    path = benchlib.save(
        "decision", {"machine": machine, "command": benchlib.command_line(), **results}
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
