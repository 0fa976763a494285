"""The scorecard at serving time: plain data and lookup tables, no pandas/sklearn/optbinning.

The exported scorecard (``artifact``) lists per characteristic its bins — numeric split
points or a category -> bin map — and per bin the points and the logit contribution
(coefficient x WoE). Bins follow optbinning: regular bins, then ``Special``, then
``Missing``; a value below a split falls left (``bisect_right``), an unseen category or an
unreadable number scores as ``Missing``, exactly as optbinning's own ``score`` does.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lendbridge.scoring.cleaning import (
    clean_category,
    is_missing,
    normalise_sentinels,
    parse_number,
)
from lendbridge.scoring.result import Reason, ScoreResult, sigmoid

FORMAT = 1
MEMO_SIZE = 4096  # per characteristic: bounded, whatever the traffic


@dataclass(frozen=True, slots=True)
class Characteristic:
    name: str
    numeric: bool
    splits: tuple[float, ...]
    categories: Mapping[str, int]
    labels: tuple[str, ...]
    points: tuple[int, ...]
    logits: tuple[float, ...]
    best: int  # the most points any bin gives
    memo: dict[object, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def missing_bin(self) -> int:
        return len(self.points) - 1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Characteristic:
        points = tuple(round(p) for p in data["points"])
        return cls(
            name=str(data["name"]),
            numeric=data["kind"] == "numeric",
            splits=tuple(float(s) for s in data.get("splits", ())),
            categories={str(k): int(v) for k, v in data.get("categories", {}).items()},
            labels=tuple(str(x) for x in data["labels"]),
            points=points,
            logits=tuple(float(x) for x in data["logits"]),
            best=max(points),
        )


class ScorecardScorer:
    """Scores one application (``score``) or many (``score_many``) from a scorecard export."""

    family = "scorecard"

    def __init__(self, artifact: Mapping[str, Any]) -> None:
        if artifact.get("family") != "scorecard" or artifact.get("format") != FORMAT:
            raise ValueError("not a scorecard export of a known format")
        self.intercept = float(artifact["intercept"])
        self.base_points = float(artifact["base_points"])
        self.sentinels = normalise_sentinels(list(artifact.get("sentinels", ())))
        self.characteristics = [Characteristic.from_dict(c) for c in artifact["characteristics"]]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.characteristics]

    def bin_of(self, characteristic: Characteristic, raw: object) -> int:
        """The bin of a raw value; remembered per characteristic for strings and numbers
        (applications repeat the same few values, so most lookups are one dict access)."""
        kind = type(raw)
        if kind is str or kind is float or kind is int:
            memo = characteristic.memo
            found = memo.get(raw)
            if found is None:
                found = self._bin_of(characteristic, raw)
                if len(memo) < MEMO_SIZE:
                    memo[raw] = found
            return found
        return self._bin_of(characteristic, raw)

    def _bin_of(self, characteristic: Characteristic, raw: object) -> int:
        if characteristic.numeric:
            if isinstance(raw, float | int) and not isinstance(raw, bool) and raw == raw:
                value: float | None = float(raw)
                if is_missing(value, self.sentinels):
                    value = None
            elif is_missing(raw, self.sentinels):
                value = None
            else:
                value = parse_number(raw).value
            if value is None:
                return characteristic.missing_bin
            return bisect_right(characteristic.splits, value)
        if is_missing(raw, self.sentinels):
            return characteristic.missing_bin
        found = characteristic.categories.get(clean_category(raw))
        return characteristic.missing_bin if found is None else found

    def bins(self, features: Mapping[str, object]) -> list[int]:
        return [self.bin_of(c, features.get(c.name)) for c in self.characteristics]

    def score(self, features: Mapping[str, object]) -> ScoreResult:
        total = self.base_points
        logit = self.intercept
        reasons: list[Reason] = []
        for c in self.characteristics:
            raw = features.get(c.name)
            b = self.bin_of(c, raw)
            points = c.points[b]
            total += points
            logit += c.logits[b]
            reasons.append(Reason(c.name, c.best - points, raw))
        reasons.sort(key=lambda r: -r.points_lost)
        return ScoreResult(round(total), sigmoid(logit), reasons)

    def score_many(self, rows: Iterable[Mapping[str, object]]) -> list[tuple[int, float]]:
        """(score, probability) per row, without reasons: the batch path."""
        out: list[tuple[int, float]] = []
        characteristics = self.characteristics
        for features in rows:
            total = self.base_points
            logit = self.intercept
            for c in characteristics:
                b = self.bin_of(c, features.get(c.name))
                total += c.points[b]
                logit += c.logits[b]
            out.append((round(total), sigmoid(logit)))
        return out
