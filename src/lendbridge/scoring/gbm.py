"""The gradient-boosted challenger at serving time: its trees as plain data, walked in pure
Python (no sklearn, no pickle).

The export holds what sklearn's ``HistGradientBoostingClassifier`` predicts with: the
baseline logit and per tree its nodes (feature, threshold, where missing values go, children,
leaf value, and for categorical splits the set of categories that go left as a bitset).
A numeric value goes left when ``value <= threshold``; a categorical feature is fed as its
category's code (its position in the exported list), an unseen category as missing.

Reasons: each feature is replaced in turn by its training reference value (median or most
frequent category); the points the applicant would gain by that are the points lost to the
feature. Simple, model-agnostic and honest about what it measures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lendbridge.scoring.cleaning import (
    clean_category,
    is_missing,
    normalise_sentinels,
    parse_number,
)
from lendbridge.scoring.result import PointsScale, Reason, ScoreResult, sigmoid

FORMAT = 1
NAN = float("nan")

# A node: (feature, threshold, missing_go_left, left, right, leaf_value or None,
# categorical bitset index or -1)
Node = tuple[int, float, bool, int, int, float | None, int]


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    numeric: bool
    codes: Mapping[str, int]  # category -> code (categorical features)
    reference: float  # the training median, or the most frequent category's code


@dataclass(frozen=True, slots=True)
class Tree:
    nodes: tuple[Node, ...]
    bitsets: tuple[tuple[int, ...], ...]

    def value(self, x: list[float]) -> float:
        nodes = self.nodes
        node = nodes[0]
        while node[5] is None:
            v = x[node[0]]
            if v != v:  # NaN: missing
                go_left = node[2]
            elif node[6] >= 0:
                code = int(v)
                words = self.bitsets[node[6]]
                go_left = 0 <= code < 32 * len(words) and bool(
                    (words[code >> 5] >> (code & 31)) & 1
                )
            else:
                go_left = v <= node[1]
            node = nodes[node[3] if go_left else node[4]]
        return node[5]


class GbmScorer:
    family = "gbm"

    def __init__(self, artifact: Mapping[str, Any]) -> None:
        if artifact.get("family") != "gbm" or artifact.get("format") != FORMAT:
            raise ValueError("not a gradient-boosting export of a known format")
        self.baseline = float(artifact["baseline"])
        self.scale = PointsScale.from_dict(artifact["scaling"])
        self.sentinels = normalise_sentinels(list(artifact.get("sentinels", ())))
        self.features = [
            Feature(
                name=str(f["name"]),
                numeric=f["kind"] == "numeric",
                codes={str(c): i for i, c in enumerate(f.get("categories", ()))},
                reference=float(f["reference"]),
            )
            for f in artifact["features"]
        ]
        self.trees = [
            Tree(
                nodes=tuple(_node(n) for n in t["nodes"]),
                bitsets=tuple(tuple(int(w) for w in b) for b in t.get("bitsets", ())),
            )
            for t in artifact["trees"]
        ]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def encode(self, features: Mapping[str, object]) -> list[float]:
        """The model's input vector: numbers cleaned, categories as codes, missing as NaN."""
        x: list[float] = []
        for f in self.features:
            raw = features.get(f.name)
            if is_missing(raw, self.sentinels):
                x.append(NAN)
            elif f.numeric:
                value = parse_number(raw).value
                x.append(NAN if value is None else value)
            else:
                code = f.codes.get(clean_category(raw))
                x.append(NAN if code is None else float(code))
        return x

    def probability_of(self, x: list[float]) -> float:
        return sigmoid(self.baseline + math.fsum(t.value(x) for t in self.trees))

    def score(self, features: Mapping[str, object]) -> ScoreResult:
        x = self.encode(features)
        probability = self.probability_of(x)
        points = self.scale.points(probability)
        reasons: list[Reason] = []
        for i, f in enumerate(self.features):
            if x[i] == f.reference:
                reasons.append(Reason(f.name, 0, features.get(f.name)))
                continue
            replaced = list(x)
            replaced[i] = f.reference
            gained = self.scale.points(self.probability_of(replaced)) - points
            reasons.append(Reason(f.name, max(0, round(gained)), features.get(f.name)))
        reasons.sort(key=lambda r: -r.points_lost)
        return ScoreResult(round(points), probability, reasons)

    def score_many(self, rows: Iterable[Mapping[str, object]]) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        for features in rows:
            probability = self.probability_of(self.encode(features))
            out.append((round(self.scale.points(probability)), probability))
        return out


def _node(n: list[Any]) -> Node:
    leaf = n[5]
    return (
        int(n[0]),
        float(n[1]),
        bool(n[2]),
        int(n[3]),
        int(n[4]),
        None if leaf is None else float(leaf),
        int(n[6]),
    )
