"""Phase two: lines no reference matched, against executed orders no line named, by
amount, date and account (the last four digits of the masked account number), within the
run's tolerances.

In this order, each step taking only what the previous left:

1. one line to one order: the closest amount, then the closest date;
2. one line to several orders (a batch the channel booked as one line);
3. several lines to one order (a payment the channel split).

Several-to-one searches are bounded: at most :data:`MAX_CANDIDATES` candidates and
:data:`MAX_STEPS` search steps per line or order, beyond which the items stay unmatched
(breaks a person decides) rather than being matched by a guess.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lendbridge.payments.recon.matching import LineRec, OrderRec, last4
from lendbridge.payments.recon.models import Movement

MAX_CANDIDATES = 24
MAX_STEPS = 20_000


@dataclass(slots=True)
class Expected:
    """One money movement of an order that a statement line should show."""

    order: OrderRec
    movement: Movement
    day: dt.date  # completed_on (success) or reversed_on (reversal)
    last4: str | None
    in_range: bool = True  # False: a candidate only, within the date tolerance of the range
    used: bool = False

    @classmethod
    def of(
        cls, order: OrderRec, movement: Movement, day: dt.date, *, in_range: bool = True
    ) -> Expected:
        return cls(order, movement, day, last4(order.party_account_masked), in_range)

    @property
    def sort_key(self) -> tuple[dt.date, bytes]:
        return self.day, self.order.key


@dataclass(frozen=True, slots=True)
class Match:
    lines: list[LineRec]
    expected: list[Expected]
    rule: str


def _accounts_agree(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


def _kind(line: LineRec) -> tuple[str, Movement, str]:
    return line.direction, line.movement, line.currency


def _expected_kind(item: Expected) -> tuple[str, Movement, str]:
    return item.order.direction, item.movement, item.order.currency


def one_to_one(
    lines: Sequence[LineRec], pool: Sequence[Expected], days: int, amount: int
) -> list[Match]:
    """Each line (in line order) with the unused movement of the same direction, kind and
    currency whose amount is closest (within ``amount``), then whose date is (within
    ``days``), accounts agreeing when both show digits."""
    by_account: dict[tuple[str, Movement, str, str | None], list[Expected]] = defaultdict(list)
    by_kind: dict[tuple[str, Movement, str], list[Expected]] = defaultdict(list)
    for item in pool:
        if not item.used:
            kind = _expected_kind(item)
            by_account[(*kind, item.last4)].append(item)
            by_kind[kind].append(item)
    indexes: dict[tuple[object, ...], tuple[list[int], list[Expected]]] = {}

    def index(key: tuple[object, ...], items: list[Expected]) -> tuple[list[int], list[Expected]]:
        found = indexes.get(key)
        if found is None:
            ordered = sorted(items, key=lambda e: (e.order.amount, e.sort_key))
            found = ([e.order.amount for e in ordered], ordered)
            indexes[key] = found
        return found

    matches = []
    for line in lines:
        kind = _kind(line)
        sources: list[tuple[object, ...]]
        if line.last4 is None:
            sources = [("k", *kind)]
            groups = [by_kind.get(kind, [])]
        else:
            sources = [("a", *kind, line.last4), ("a", *kind, None)]
            groups = [by_account.get((*kind, line.last4), []), by_account.get((*kind, None), [])]
        best: tuple[int, int, dt.date, bytes] | None = None
        chosen: Expected | None = None
        for source, items in zip(sources, groups, strict=True):
            if not items:
                continue
            amounts, ordered = index(source, items)
            start = bisect.bisect_left(amounts, line.amount - amount)
            stop = bisect.bisect_right(amounts, line.amount + amount)
            for item in ordered[start:stop]:
                if item.used:
                    continue
                gap = abs((item.day - line.trade_date).days)
                if gap > days:
                    continue
                score = (abs(item.order.amount - line.amount), gap, *item.sort_key)
                if best is None or score < best:
                    best, chosen = score, item
        if chosen is not None:
            chosen.used = True
            matches.append(Match([line], [chosen], "amount_date_account"))
    return matches


def subset_summing(amounts: Sequence[int], target: int, tolerance: int) -> list[int] | None:
    """Indexes of at least two ``amounts`` (all positive) whose sum is within ``tolerance``
    of ``target``, searching larger amounts first; None if there is none or the search
    would take more than :data:`MAX_STEPS` steps."""
    order = sorted(range(len(amounts)), key=lambda i: (-amounts[i], i))
    values = [amounts[i] for i in order]
    suffix = [0] * (len(values) + 1)
    for i in range(len(values) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + values[i]
    low, high = target - tolerance, target + tolerance
    chosen: list[int] = []
    steps = 0

    def search(start: int, total: int) -> bool:
        nonlocal steps
        if len(chosen) >= 2 and low <= total <= high:
            return True
        for i in range(start, len(values)):
            steps += 1
            if steps > MAX_STEPS or total + suffix[i] < low:
                return False
            if total + values[i] > high:
                continue
            chosen.append(i)
            if search(i + 1, total + values[i]):
                return True
            chosen.pop()
        return False

    if not search(0, 0):
        return None
    return sorted(order[i] for i in chosen)


def _near(day: dt.date, days: int) -> Iterable[dt.date]:
    return (day + dt.timedelta(days=d) for d in range(-days, days + 1))


def one_to_many(
    lines: Sequence[LineRec], pool: Sequence[Expected], days: int, amount: int
) -> list[Match]:
    """A line equal to the sum of several unused movements near its date."""
    by_day: dict[tuple[str, Movement, str, dt.date], list[Expected]] = defaultdict(list)
    for item in sorted(pool, key=lambda e: e.sort_key):
        if not item.used:
            by_day[(*_expected_kind(item), item.day)].append(item)
    matches = []
    for line in lines:
        kind = _kind(line)
        candidates = [
            item
            for day in _near(line.trade_date, days)
            for item in by_day.get((*kind, day), ())
            if not item.used
            and item.order.amount <= line.amount + amount
            and _accounts_agree(line.last4, item.last4)
        ]
        if not 2 <= len(candidates) <= MAX_CANDIDATES:
            continue
        picked = subset_summing([c.order.amount for c in candidates], line.amount, amount)
        if picked is None:
            continue
        chosen = [candidates[i] for i in picked]
        for item in chosen:
            item.used = True
        matches.append(Match([line], chosen, "one_to_many"))
    return matches


def many_to_one(
    lines: Sequence[LineRec], pool: Sequence[Expected], days: int, amount: int
) -> list[Match]:
    """An unused movement equal to the sum of several lines near its date."""
    by_day: dict[tuple[str, Movement, str, dt.date], list[LineRec]] = defaultdict(list)
    for line in lines:
        by_day[(*_kind(line), line.trade_date)].append(line)
    taken: set[int] = set()
    matches = []
    for item in sorted(pool, key=lambda e: e.sort_key):
        if item.used:
            continue
        kind = _expected_kind(item)
        candidates = [
            line
            for day in _near(item.day, days)
            for line in by_day.get((*kind, day), ())
            if line.line_no not in taken
            and line.amount <= item.order.amount + amount
            and _accounts_agree(line.last4, item.last4)
        ]
        if not 2 <= len(candidates) <= MAX_CANDIDATES:
            continue
        candidates.sort(key=lambda line: line.line_no)
        picked = subset_summing([c.amount for c in candidates], item.order.amount, amount)
        if picked is None:
            continue
        chosen = [candidates[i] for i in picked]
        taken.update(line.line_no for line in chosen)
        item.used = True
        matches.append(Match(chosen, [item], "many_to_one"))
    return matches


def match_all(
    lines: list[LineRec], pool: list[Expected], days: int, amount: int
) -> tuple[list[Match], list[LineRec]]:
    """The three steps in turn; the matches and the lines left over (in line order)."""
    matches: list[Match] = []
    remaining = sorted(lines, key=lambda line: line.line_no)
    for step in (one_to_one, one_to_many, many_to_one):
        if not remaining or not any(not item.used for item in pool):
            break
        found = step(remaining, pool, days, amount)
        if found:
            matches.extend(found)
            used = {line.line_no for match in found for line in match.lines}
            remaining = [line for line in remaining if line.line_no not in used]
    return matches, remaining
