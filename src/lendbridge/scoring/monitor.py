"""Population stability: are today's applications like the ones the model learned from?

At training the model stores a *profile*: the shares of training rows per score band
(training score deciles) and per bin of each characteristic. ``monitor`` bins a sample the
same way and compares. PSI = sum over bins of (actual - expected) x ln(actual / expected),
with a share of 0 floored at 0.0001 (an empty bin would make it infinite). Bands: below
0.10 stable, 0.10 to 0.25 watch, above 0.25 shift.

Pure Python: the live application flow can feed ``monitor`` its rows directly.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lendbridge.scoring.cleaning import (
    DEFAULT_SENTINELS,
    clean_category,
    is_missing,
    parse_number,
)
from lendbridge.scoring.result import ScoreResult

FLOOR = 0.0001
WATCH = 0.10
SHIFT = 0.25


class Scores(Protocol):
    def score(self, features: Mapping[str, object]) -> ScoreResult: ...

    def score_many(self, rows: Iterable[Mapping[str, object]]) -> list[tuple[int, float]]: ...


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    if len(expected) != len(actual):
        raise ValueError("PSI compares two distributions over the same bins")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def band(value: float) -> str:
    if value < WATCH:
        return "stable"
    return "watch" if value <= SHIFT else "shift"


@dataclass(frozen=True)
class Binner:
    """How a characteristic is binned for monitoring: numeric ``edges`` (a value below an
    edge falls left) or a ``categories`` -> bin map with ``regular`` bins; then two more
    bins: other (an unseen category) and missing."""

    name: str
    numeric: bool
    edges: tuple[float, ...] = ()
    categories: Mapping[str, int] | None = None
    labels: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        regular = (
            len(self.edges) + 1 if self.numeric else len(set((self.categories or {}).values()))
        )
        return regular + 2

    def index(self, raw: object, sentinels: frozenset[str] = DEFAULT_SENTINELS) -> int:
        if is_missing(raw, sentinels):
            return self.size - 1
        if self.numeric:
            value = parse_number(raw).value
            return self.size - 1 if value is None else bisect_right(self.edges, value)
        found = (self.categories or {}).get(clean_category(raw))
        return self.size - 2 if found is None else found

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "numeric": self.numeric}
        if self.numeric:
            document["edges"] = list(self.edges)
        else:
            document["categories"] = dict(self.categories or {})
        document["labels"] = list(self.labels)
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Binner:
        return cls(
            name=str(data["name"]),
            numeric=bool(data["numeric"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories={str(k): int(v) for k, v in data.get("categories", {}).items()},
            labels=tuple(str(x) for x in data.get("labels", ())),
        )


def shares(indexes: Iterable[int], size: int) -> list[float]:
    counts = [0] * size
    n = 0
    for i in indexes:
        counts[i] += 1
        n += 1
    return [c / n if n else 0.0 for c in counts]


def score_edges(scores: Sequence[int], bands: int = 10) -> list[float]:
    """The training score's decile boundaries (duplicates dropped)."""
    ordered = sorted(scores)
    edges = {
        float(ordered[min(len(ordered) - 1, (len(ordered) * k) // bands)]) for k in range(1, bands)
    }
    return sorted(edges)


def build_profile(
    model: Scores,
    binners: Sequence[Binner],
    rows: Sequence[Mapping[str, object]],
    sentinels: frozenset[str] = DEFAULT_SENTINELS,
) -> dict[str, Any]:
    """The training distribution stored with the model."""
    scores = [s for s, _ in model.score_many(rows)]
    edges = score_edges(scores)
    return {
        "rows": len(rows),
        "score_edges": edges,
        "score_shares": shares((bisect_right(edges, s) for s in scores), len(edges) + 1),
        "characteristics": [
            {
                **b.to_dict(),
                "shares": shares((b.index(r.get(b.name), sentinels) for r in rows), b.size),
            }
            for b in binners
        ],
    }


@dataclass(frozen=True)
class Stability:
    name: str
    psi: float
    band: str
    expected: list[float]
    actual: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "psi": round(self.psi, 6),
            "band": self.band,
            "expected": [round(x, 6) for x in self.expected],
            "actual": [round(x, 6) for x in self.actual],
        }


@dataclass(frozen=True)
class MonitorReport:
    rows: int
    score: Stability
    characteristics: list[Stability]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "score": self.score.to_dict(),
            "characteristics": [c.to_dict() for c in self.characteristics],
        }


def monitor(
    model: Scores,
    profile: Mapping[str, Any],
    rows: Sequence[Mapping[str, object]],
    sentinels: frozenset[str] = DEFAULT_SENTINELS,
) -> MonitorReport:
    """PSI of the scores and of each characteristic of ``rows`` against the training profile."""
    if not rows:
        raise ValueError("monitoring needs at least one application")
    edges = [float(e) for e in profile["score_edges"]]
    scores = [s for s, _ in model.score_many(rows)]
    actual = shares((bisect_right(edges, s) for s in scores), len(edges) + 1)
    expected = [float(x) for x in profile["score_shares"]]
    value = psi(expected, actual)
    score = Stability("score", value, band(value), expected, actual)
    characteristics = []
    for entry in profile["characteristics"]:
        binner = Binner.from_dict(entry)
        expected_c = [float(x) for x in entry["shares"]]
        actual_c = shares((binner.index(r.get(binner.name), sentinels) for r in rows), binner.size)
        value = psi(expected_c, actual_c)
        characteristics.append(Stability(binner.name, value, band(value), expected_c, actual_c))
    characteristics.sort(key=lambda s: -s.psi)
    return MonitorReport(len(rows), score, characteristics)
