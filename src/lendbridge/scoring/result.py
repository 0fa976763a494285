"""What scoring an application answers, for either model family."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple


class Reason(NamedTuple):
    """One characteristic's share of the score: ``points_lost`` is how many points the
    applicant's value cost against the best value of that characteristic (0 = best)."""

    characteristic: str
    points_lost: int
    value: object


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: int
    probability: float  # of being bad
    reasons: list[Reason]  # most points lost first

    def top_reasons(self, n: int = 4) -> list[Reason]:
        return [r for r in self.reasons if r.points_lost > 0][:n]


@dataclass(frozen=True, slots=True)
class PointsScale:
    """Score = offset + factor * ln(good:bad odds): ``base_score`` at ``base_odds``:1, and
    every ``pdo`` points double the odds."""

    base_score: float
    base_odds: float
    pdo: float

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> PointsScale:
        return cls(float(data["base_score"]), float(data["base_odds"]), float(data["pdo"]))

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def points(self, probability: float) -> float:
        """The score of a probability of bad (clipped away from 0 and 1)."""
        p = min(max(probability, 1e-9), 1.0 - 1e-9)
        return self.offset + self.factor * math.log((1.0 - p) / p)


def sigmoid(logit: float) -> float:
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    e = math.exp(logit)
    return e / (1.0 + e)
