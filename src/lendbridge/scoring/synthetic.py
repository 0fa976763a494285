"""A synthetic loan book in the messy shape of real exports, for tests and benchmarks.

The outcome depends on the applicant's data through a known logistic model, so a model
trained on it must rank well; the columns carry the formats the cleaning handles (percent
strings, amounts with separators and currency signs, "10+ years", sentinels, blanks) plus
an id column and a constant one, which the data-quality report must flag.
"""

from __future__ import annotations

import csv
import io
import math
import random

HEADER = (
    "member_id",
    "loan_amnt",
    "int_rate",
    "annual_inc",
    "dti",
    "emp_length",
    "home_ownership",
    "purpose",
    "revol_util",
    "delinq_2yrs",
    "policy_code",
    "loan_status",
)
PURPOSES = ("debt_consolidation", "credit_card", "home_improvement", "car", "medical", "other")
HOMES = ("RENT", "OWN", "MORTGAGE")


def messy_loan_book(rows: int, seed: int = 7) -> str:
    """CSV text with ``rows`` loans; ``loan_status`` is "Charged Off" (bad) or "Fully Paid"."""
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not security)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        amount = rng.randrange(1_000, 40_000, 25)
        rate = rng.uniform(5.0, 28.0)
        income = rng.lognormvariate(11.0, 0.5)
        dti = rng.uniform(0.0, 40.0)
        years = rng.choice([0, 1, 2, 3, 5, 7, 10, 12])
        home = rng.choice(HOMES)
        purpose = rng.choice(PURPOSES)
        utilisation = rng.uniform(0.0, 110.0)
        delinquencies = rng.choice([0, 0, 0, 0, 1, 2])
        logit = (
            -2.2
            + 0.11 * (rate - 14.0)
            + 0.035 * (dti - 18.0)
            - 0.5 * math.log(income / 60_000.0)
            + 0.012 * (utilisation - 50.0)
            + 0.35 * delinquencies
            - 0.04 * years
            + (0.3 if home == "RENT" else 0.0)
            + (0.25 if purpose in ("medical", "other") else 0.0)
        )
        bad = rng.random() < 1.0 / (1.0 + math.exp(-logit))
        writer.writerow(
            [
                f"M{1_000_000 + i}",
                _amount(rng, amount),
                f"{rate:.2f}%",
                "-999" if rng.random() < 0.02 else f"{income:,.2f}",
                "" if rng.random() < 0.03 else f"{dti:.2f}",
                _years(years),
                "N/A" if rng.random() < 0.02 else home,
                purpose,
                "" if rng.random() < 0.01 else f"{utilisation:.1f}%",
                str(delinquencies),
                "1",
                "Charged Off" if bad else "Fully Paid",
            ]
        )
    return out.getvalue()


def _amount(rng: random.Random, amount: int) -> str:
    style = rng.random()
    if style < 0.3:
        return f"¥{amount:,}"
    if style < 0.6:
        return f"{amount:,}.00"
    return str(amount)


def _years(years: int) -> str:
    if years == 0:
        return "< 1 year"
    if years >= 10:
        return "10+ years"
    return f"{years} year" if years == 1 else f"{years} years"
