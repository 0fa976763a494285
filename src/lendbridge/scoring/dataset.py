"""Reading a training file: CSV -> typed, cleaned columns, binary labels and a quality report.

Column types are inferred unless the spec names them: a column is numeric when at least
95 % of its present values read as numbers (messy formats included, see ``cleaning``).
Decisions, all reported: a column that is entirely empty, constant, or an identifier is
excluded (training fails only when no usable column is left); rows whose target is missing
are excluded and counted; every other row is used.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.scoring.cleaning import (
    clean_category,
    is_missing,
    normalise_sentinels,
    parse_number,
)
from lendbridge.scoring.quality import ColumnFinding, DataQualityReport, Exclusion
from lendbridge.scoring.spec import ColumnKind, TrainingSpec

NUMERIC_SHARE = 0.95
HIGH_CARDINALITY = 50
MAX_BYTES = 512 * 1024 * 1024
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|key)$|^(id|uuid)([_\s-]|$)", re.IGNORECASE)

Value = float | str | None


class TrainingDataError(ValidationFailed):
    code = "scoring.training_data"
    title = "The training data cannot be used"


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    values: list[Value]  # floats (numeric) or strings (categorical); None = missing


@dataclass(frozen=True)
class TrainingData:
    columns: list[Column]  # the usable ones, in file order
    labels: list[int]  # 1 = bad
    report: DataQualityReport
    fingerprint: str  # sha256 of the file's bytes

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def read_training_file(path: Path, target: str, bad_value: str, spec: TrainingSpec) -> TrainingData:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise field_error(TrainingDataError, "data", f"cannot read {path.name}: {exc}") from None
    if len(content) > MAX_BYTES:
        raise field_error(TrainingDataError, "data", "the file is larger than 512 MiB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise field_error(TrainingDataError, "data", "the file is not UTF-8 text") from None
    return prepare(text, target, bad_value, spec, hashlib.sha256(content).hexdigest())


def prepare(
    text: str, target: str, bad_value: str, spec: TrainingSpec, fingerprint: str = ""
) -> TrainingData:
    header, rows = _read_csv(text)
    if target not in header:
        shown = ", ".join(header[:30])
        raise field_error(
            TrainingDataError, "target", f"no column {target!r} in the file (columns: {shown})"
        )
    for key, names in (
        ("columns", spec.columns),
        ("exclude", spec.exclude),
        ("monotonic", spec.monotonic),
    ):
        unknown = sorted(set(names) - set(header))
        if unknown:
            raise field_error(TrainingDataError, f"spec.{key}", f"no such columns: {unknown}")
    sentinels = normalise_sentinels(spec.sentinels)
    target_index = header.index(target)
    kept: list[list[str]] = []
    labels: list[int] = []
    bad_key = bad_value.strip().lower()
    for row in rows:
        cell = row[target_index] if target_index < len(row) else ""
        if is_missing(cell, sentinels):
            continue
        kept.append(row)
        labels.append(1 if clean_category(cell).lower() == bad_key else 0)
    missing_target = len(rows) - len(kept)
    if not kept:
        raise field_error(
            TrainingDataError,
            "data",
            f"no usable rows: {len(rows)} rows read, {missing_target} without a target",
        )
    bad = sum(labels)
    if bad == 0 or bad == len(labels):
        only = "bad" if bad else "good"
        raise field_error(
            TrainingDataError,
            "bad_value",
            f"the target has one class only: every row is {only} (bad value {bad_value!r})",
        )
    if min(bad, len(labels) - bad) < spec.folds:
        raise field_error(
            TrainingDataError,
            "data",
            f"{bad} bad and {len(labels) - bad} good rows: {spec.folds}-fold cross-validation "
            f"needs at least {spec.folds} of each",
        )
    columns: list[Column] = []
    findings: list[ColumnFinding] = []
    for index, name in enumerate(header):
        if index == target_index:
            continue
        cells = [row[index] if index < len(row) else "" for row in kept]
        column, finding = _column(name, cells, spec, sentinels)
        findings.append(finding)
        if column is not None:
            columns.append(column)
    if not columns:
        raise field_error(
            TrainingDataError, "data", "no usable column: every column is empty, constant or an id"
        )
    report = DataQualityReport(
        rows_read=len(rows),
        rows_used=len(kept),
        rows_missing_target=missing_target,
        bad=bad,
        good=len(labels) - bad,
        target=target,
        bad_value=bad_value,
        columns=findings,
    )
    return TrainingData(columns, labels, report, fingerprint)


def _read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip() for h in next(reader, [])]
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise field_error(TrainingDataError, "data", f"not a readable CSV file: {exc}") from None
    if not header or not any(header):
        raise field_error(TrainingDataError, "data", "no usable rows: the file is empty")
    duplicates = sorted(n for n, k in Counter(header).items() if k > 1)
    if duplicates:
        raise field_error(TrainingDataError, "data", f"duplicate column names: {duplicates}")
    if "" in header:
        raise field_error(TrainingDataError, "data", "a column has no name in the header")
    return header, rows


def _column(
    name: str, cells: list[str], spec: TrainingSpec, sentinels: frozenset[str]
) -> tuple[Column | None, ColumnFinding]:
    sentinel_count = 0
    present: list[tuple[int, str]] = []
    for i, cell in enumerate(cells):
        if not cell.strip():
            continue
        if is_missing(cell, sentinels):
            sentinel_count += 1
            continue
        present.append((i, cell))
    parsed = [(i, parse_number(cell)) for i, cell in present]
    numbers = sum(1 for _, p in parsed if p.value is not None)
    kind = spec.columns.get(name)
    if kind is None:
        is_numeric = bool(present) and numbers >= NUMERIC_SHARE * len(present)
        kind = ColumnKind.NUMERIC if is_numeric else ColumnKind.CATEGORICAL
    finding = ColumnFinding(name=name, kind=kind.value, sentinels=sentinel_count)
    values: list[Value] = [None] * len(cells)
    if kind is ColumnKind.NUMERIC:
        coerced: Counter[str] = Counter()
        for (i, p), (_, cell) in zip(parsed, present, strict=True):
            if p.value is None:
                finding.unparsed += 1
                if len(finding.unparsed_examples) < 3:
                    finding.unparsed_examples.append(cell.strip()[:40])
                continue
            values[i] = p.value
            if p.change is not None:
                coerced[p.change.value] += 1
        finding.coerced = dict(coerced)
    else:
        for i, cell in present:
            values[i] = clean_category(cell)
    finding.missing = sum(1 for v in values if v is None)
    finding.missing_share = round(finding.missing / len(cells), 6)
    distinct = len({v for v in values if v is not None})
    finding.distinct = distinct
    finding.high_cardinality = kind is ColumnKind.CATEGORICAL and distinct > HIGH_CARDINALITY
    finding.excluded = _exclusion(name, kind, values, distinct, spec)
    if finding.excluded is not None:
        return None, finding
    return Column(name, kind, values), finding


def _exclusion(
    name: str, kind: ColumnKind, values: list[Value], distinct: int, spec: TrainingSpec
) -> Exclusion | None:
    present = len(values) - values.count(None)
    if name in spec.exclude:
        return Exclusion.BY_SPEC
    if present == 0:
        return Exclusion.EMPTY
    if distinct <= 1:
        return Exclusion.CONSTANT
    unique_per_row = distinct == present and present > 20
    if unique_per_row and (kind is ColumnKind.CATEGORICAL or _ID_NAME.search(name)):
        return Exclusion.IDENTIFIER
    return None


def read_applications(path: Path) -> list[dict[str, str]]:
    """A CSV of applications as raw rows (column -> cell text), for evaluating and monitoring
    a stored model: its scorer cleans the raw values itself, as it does when serving."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise field_error(TrainingDataError, "data", f"cannot read {path.name}: {exc}") from None
    except UnicodeDecodeError:
        raise field_error(TrainingDataError, "data", "the file is not UTF-8 text") from None
    header, rows = _read_csv(text)
    if not rows:
        raise field_error(TrainingDataError, "data", "no usable rows: the file has no data rows")
    width = len(header)
    # a short row's missing trailing cells are blanks, as in training
    return [dict(zip(header, [*row, *[""] * (width - len(row))], strict=False)) for row in rows]
