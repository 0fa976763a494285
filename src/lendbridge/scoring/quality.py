"""The data-quality report of a training file: what was found, coerced and left out, and why.

Nothing is dropped without a line here: excluded columns carry their reason, and rows left
out (a missing target) are counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Exclusion(StrEnum):
    EMPTY = "empty"  # every value missing
    CONSTANT = "constant"  # one distinct value: carries no information
    IDENTIFIER = "identifier"  # one value per row (an id): would only memorise rows
    BY_SPEC = "excluded_by_spec"


@dataclass
class ColumnFinding:
    name: str
    kind: str  # numeric / categorical
    missing: int = 0  # blank or sentinel or not parseable (numeric columns)
    missing_share: float = 0.0
    sentinels: int = 0  # of ``missing``: sentinel values such as N/A or -999
    unparsed: int = 0  # of ``missing``: text in a numeric column that is no number
    unparsed_examples: list[str] = field(default_factory=list)
    coerced: dict[str, int] = field(default_factory=dict)  # percent/amount/duration -> count
    distinct: int = 0
    high_cardinality: bool = False
    excluded: Exclusion | None = None

    @property
    def used(self) -> bool:
        return self.excluded is None


@dataclass
class DataQualityReport:
    rows_read: int
    rows_used: int
    rows_missing_target: int
    bad: int
    good: int
    target: str
    bad_value: str
    columns: list[ColumnFinding]

    @property
    def bad_rate(self) -> float:
        return self.bad / self.rows_used if self.rows_used else 0.0

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["bad_rate"] = round(self.bad_rate, 6)
        return document

    def findings(self) -> list[str]:
        """The report in sentences, for the command line."""
        lines = [
            f"{self.rows_read} rows read, {self.rows_used} used "
            f"({self.bad} bad, {self.good} good, bad rate {self.bad_rate:.1%})"
        ]
        if self.rows_missing_target:
            lines.append(
                f"{self.rows_missing_target} rows excluded: the target {self.target!r} is missing"
            )
        for c in self.columns:
            if c.excluded is not None:
                lines.append(f"column {c.name!r} excluded: {c.excluded.value}")
                continue
            notes = []
            if c.missing:
                notes.append(f"{c.missing} missing ({c.missing_share:.1%})")
            if c.sentinels:
                notes.append(f"{c.sentinels} sentinel values")
            if c.unparsed:
                shown = ", ".join(repr(v) for v in c.unparsed_examples)
                notes.append(f"{c.unparsed} values not numbers ({shown}) treated as missing")
            notes.extend(f"{n} {kind} values converted" for kind, n in sorted(c.coerced.items()))
            if c.high_cardinality:
                notes.append(f"high cardinality: {c.distinct} categories")
            if notes:
                lines.append(f"column {c.name!r} ({c.kind}): " + "; ".join(notes))
        return lines
