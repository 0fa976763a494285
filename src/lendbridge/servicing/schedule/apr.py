"""The annual percentage rate of a schedule (年化利率, IRR basis, PBoC Announcement 〔2021〕
No. 3): the internal rate of return of the borrower's real cash flows, fees included.

Cash flows: at the start the borrower has the principal less the upfront fee (deducted or
paid, the same use of money); at the end of each installment interval they pay that
installment's total. The periodic IRR ``r`` solves ``received = Σ total_k / (1 + r)^k``.
APR = r × periods per year (the announcement's annualisation); the effective annual rate
EAR = (1 + r)^(periods per year) − 1. Both are percentages rounded half up to 4 places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from lendbridge.servicing.schedule.schedule import Schedule

# 34 significant digits: far past the 4 decimal places published, for amounts up to 2^63.
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)
# Publishing to 4 places needs every digit of the integer part: a pathological loan (a
# day's term, a fee of 99 %) has an EAR of thousands of digits, which 34 cannot hold.
_WIDE = Context(prec=8_000)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_TOLERANCE = Decimal("1e-24")
_PLACES = Decimal("0.0001")
_NEWTON_STEPS = 100


@dataclass(frozen=True, slots=True)
class Apr:
    periodic_rate: Decimal  # the IRR per installment interval, as a fraction
    apr: Decimal  # percent a year, 4 decimal places: Decimal("12.6825")
    ear: Decimal  # percent a year, 4 decimal places


def apr(schedule: Schedule) -> Apr:
    """The APR and EAR of ``schedule`` (see the module's docstring)."""
    received = schedule.terms.principal - schedule.upfront_fee
    with localcontext(_CONTEXT):
        rate = irr(received, [row.total for row in schedule.installments])
        num, den = schedule.periods_per_year
        per_year = Decimal(num) / Decimal(den)
        annual = rate * per_year * _HUNDRED
        effective = ((_ONE + rate) ** per_year - _ONE) * _HUNDRED
    with localcontext(_WIDE):
        annual = annual.quantize(_PLACES, ROUND_HALF_UP)
        effective = effective.quantize(_PLACES, ROUND_HALF_UP)
    return Apr(periodic_rate=rate, apr=annual, ear=effective)


def irr(received: int, payments: Sequence[int]) -> Decimal:
    """The periodic rate ``r >= 0`` at which ``payments`` (one per interval, the first one
    interval after the start) are worth ``received`` today. Needs ``sum(payments) >=
    received > 0``, which every schedule meets (fees and interest are never negative)."""
    if received <= 0 or sum(payments) < received:
        raise ValueError("the payments must at least return what was received")
    with localcontext(_CONTEXT):
        flows = [Decimal(p) for p in payments]
        target = Decimal(received)
        if sum(flows) == target:
            return _ZERO
        # The present value is convex and falls with r, and it exceeds ``received`` at 0, so
        # Newton's method from 0 climbs to the root without overshooting it.
        rate = _ZERO
        for _ in range(_NEWTON_STEPS):
            value, slope = _value_and_slope(rate, flows)
            if slope == 0:
                break
            step = (value - target) / slope
            rate -= step
            if abs(step) <= _TOLERANCE:
                return rate
        return _bisect(target, flows)


def _value_and_slope(rate: Decimal, flows: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Present value of ``flows`` at ``rate`` and its derivative in ``rate``."""
    discount = _ONE / (_ONE + rate)
    factor = _ONE
    value = _ZERO
    weighted = _ZERO
    for k, flow in enumerate(flows, 1):
        factor *= discount
        present = flow * factor
        value += present
        weighted += k * present
    return value, -weighted * discount


def _bisect(target: Decimal, flows: Sequence[Decimal]) -> Decimal:
    """The fallback: halve a bracket [0, high] whose ends straddle the root."""
    low, high = _ZERO, _ONE
    while _value_and_slope(high, flows)[0] > target:
        low, high = high, high * 2
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if _value_and_slope(middle, flows)[0] > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2
