"""What a decision is made from: the applicant's facts and the score, and the typed symbols
that policy expressions may use.

The facts are a pydantic model because they are also the decision's input snapshot (stored as
JSON and replayed by the what-if report). The score is a ``Protocol`` so that this package
does not depend on the scoring package: anything with ``score``, ``probability`` and
``reasons`` will do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Protocol

import rule_engine  # type: ignore[import-untyped]
from pydantic import Field, StrictBool, StrictInt

from lendbridge.kit.schemas import StrictModel
from lendbridge.products.schemas import ProductIn

NonNegative = Annotated[StrictInt, Field(ge=0, le=10**15)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class KycLevel(StrEnum):
    """The identity domain's KYC levels, in order (``kyc_rank`` in expressions: 0-3)."""

    REGISTERED = "registered"
    IDENTITY_VERIFIED = "identity_verified"
    BANK_CARD_BOUND = "bank_card_bound"
    ENHANCED = "enhanced"


KYC_RANK = {level: rank for rank, level in enumerate(KycLevel)}


class Facts(StrictModel):
    """The applicant and the application, as the origination flow gathers them. Amounts are
    integer fen of the product's currency; obligations are monthly payments."""

    age: Annotated[StrictInt, Field(ge=0, le=150, description="Age in years, from the ID.")]
    kyc_level: KycLevel
    monthly_income: NonNegative = Field(description="Declared monthly income.")
    declared_monthly_obligations: NonNegative = Field(
        0, description="Monthly payments the applicant declares elsewhere (other lenders)."
    )
    platform_monthly_obligations: NonNegative = Field(
        0, description="Monthly installments of the applicant's loans on this platform."
    )
    platform_outstanding: NonNegative = Field(
        0, description="Principal the applicant already owes on this platform."
    )
    overdue_loans: Count = Field(0, description="Loans of the applicant overdue now.")
    blacklisted: StrictBool = False
    open_applications: Count = Field(0, description="Other applications still open.")
    applications_7d: Count = Field(0, description="Applications in the last 7 days.")
    applications_30d: Count = Field(0, description="Applications in the last 30 days.")
    requested_amount: Annotated[StrictInt, Field(gt=0, le=10**15)]
    requested_term: Annotated[StrictInt, Field(gt=0, le=100_000)]
    product: ProductIn
    start: dt.date = Field(description="The business date the offer's schedule starts.")


class ScoreReasonLike(Protocol):
    """One characteristic's share of the score: how many points it cost."""

    @property
    def characteristic(self) -> str: ...
    @property
    def points_lost(self) -> float: ...
    @property
    def value(self) -> object: ...


class ScoreLike(Protocol):
    """A model's answer for one applicant (the scoring package's result fits this)."""

    @property
    def score(self) -> int: ...
    @property
    def probability(self) -> float: ...
    @property
    def reasons(self) -> Sequence[ScoreReasonLike]: ...


@dataclass(frozen=True, slots=True)
class ScoreReason:
    characteristic: str
    points_lost: float
    value: object = None


@dataclass(frozen=True, slots=True)
class Score:
    """A plain score result: what snapshots are read back as."""

    score: int
    probability: float
    reasons: tuple[ScoreReason, ...] = field(default_factory=tuple)


def score_snapshot(score: ScoreLike) -> dict[str, Any]:
    return {
        "score": int(score.score),
        "probability": float(score.probability),
        "reasons": [
            {
                "characteristic": r.characteristic,
                "points_lost": float(r.points_lost),
                "value": r.value if isinstance(r.value, str | int | float | None) else str(r.value),
            }
            for r in score.reasons
        ],
    }


def score_from_snapshot(data: dict[str, Any]) -> Score:
    return Score(
        score=int(data["score"]),
        probability=float(data["probability"]),
        reasons=tuple(
            ScoreReason(r["characteristic"], float(r["points_lost"]), r.get("value"))
            for r in data.get("reasons", [])
        ),
    )


# The symbols a policy expression may use and their types: an expression naming anything
# else, or comparing across types, is refused when the policy is saved.
_T = rule_engine.DataType
SYMBOLS: dict[str, Any] = {
    "age": _T.FLOAT,
    "kyc_level": _T.STRING,
    "kyc_rank": _T.FLOAT,
    "monthly_income": _T.FLOAT,
    "declared_monthly_obligations": _T.FLOAT,
    "platform_monthly_obligations": _T.FLOAT,
    "monthly_obligations": _T.FLOAT,
    "platform_outstanding": _T.FLOAT,
    "debt_to_income": _T.FLOAT,
    "overdue_loans": _T.FLOAT,
    "blacklisted": _T.BOOLEAN,
    "open_applications": _T.FLOAT,
    "applications_7d": _T.FLOAT,
    "applications_30d": _T.FLOAT,
    "requested_amount": _T.FLOAT,
    "requested_term": _T.FLOAT,
    "product_code": _T.STRING,
    "score": _T.FLOAT,
    "probability": _T.FLOAT,
    "grade": _T.STRING,
}
# Debt-to-income of an applicant with no income: above any sensible limit, still a number.
NO_INCOME_DTI = 99.0


def symbol_values(facts: Facts, score: ScoreLike, grade: str) -> dict[str, Any]:
    """The values of ``SYMBOLS`` for one applicant (money in fen; ratios as floats, which is
    fine for a comparison: nothing is computed from them)."""
    obligations = facts.declared_monthly_obligations + facts.platform_monthly_obligations
    income = facts.monthly_income
    return {
        "age": facts.age,
        "kyc_level": facts.kyc_level.value,
        "kyc_rank": KYC_RANK[facts.kyc_level],
        "monthly_income": income,
        "declared_monthly_obligations": facts.declared_monthly_obligations,
        "platform_monthly_obligations": facts.platform_monthly_obligations,
        "monthly_obligations": obligations,
        "platform_outstanding": facts.platform_outstanding,
        "debt_to_income": float(Decimal(obligations) / income) if income else NO_INCOME_DTI,
        "overdue_loans": facts.overdue_loans,
        "blacklisted": facts.blacklisted,
        "open_applications": facts.open_applications,
        "applications_7d": facts.applications_7d,
        "applications_30d": facts.applications_30d,
        "requested_amount": facts.requested_amount,
        "requested_term": facts.requested_term,
        "product_code": facts.product.code,
        "score": score.score,
        "probability": score.probability,
        "grade": grade,
    }
