"""The input of a repayment schedule: what was agreed, validated once when it is built.

Amounts are integer minor units of ``currency``. Rates are ``Decimal`` **percent**
(``Decimal("8.4")`` is 8.4 % a year), the way contracts and the CLI quote them; the engine
turns them into exact integer fractions. ``term`` is the number of installments, except for
``Frequency.SINGLE``, where it is the loan's length in days (one payment at the end).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.money import MAX_MINOR_UNITS


class Frequency(StrEnum):
    MONTHLY = "monthly"
    BIWEEKLY = "biweekly"
    WEEKLY = "weekly"
    SINGLE = "single"  # one payment, ``term`` days after the start


class Method(StrEnum):
    EQUAL_INSTALLMENT = "equal_installment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    FLAT = "flat"  # 等本等息: equal principal, interest on the original principal
    INTEREST_ONLY = "interest_only"  # 先息后本
    BULLET = "bullet"  # 到期还本付息: one payment at maturity, simple interest


class DayCount(StrEnum):
    THIRTY_360 = "30/360"  # 30E/360 (Eurobond basis, ISDA 2006 4.16(g))
    ACT_360 = "ACT/360"
    ACT_365F = "ACT/365F"
    ACT_ACT = "ACT/ACT"  # ISDA: days in leap years over 366, the others over 365


class InterestPeriod(StrEnum):
    REPAYMENT = "repayment"  # annual rate / periods per year, whatever the period's length
    DAILY = "daily"  # annual rate x the day-count fraction of the period's actual dates


PERIODS_PER_YEAR = {Frequency.MONTHLY: 12, Frequency.BIWEEKLY: 26, Frequency.WEEKLY: 52}
PERIOD_DAYS = {Frequency.BIWEEKLY: 14, Frequency.WEEKLY: 7}
# Bounds that keep one schedule cheap to compute (a public endpoint builds them on demand).
MAX_INSTALLMENTS = 600
MAX_SINGLE_DAYS = 3660
MAX_RATE_PERCENT = Decimal(1000)
MAX_RATE_DECIMALS = 10
AMORTISING = frozenset({Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.FLAT})
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Terms:
    """What the schedule is built from. Invalid terms cannot be constructed: each refusal is
    a ``ValidationFailed`` naming the field.

    Grace: the first ``principal_grace`` installments repay no principal (interest only), the
    rest amortise the whole principal; the first ``interest_grace`` installments (periods, for
    a bullet) carry no interest: it is **waived** (免息), not capitalised.
    Fees: ``*_fee_fixed`` minor units plus ``*_fee_percent`` % of the principal (rounded half
    up to the minor unit). The upfront fee is either deducted from the amount disbursed or paid
    by the borrower at the start; in both cases the borrower has the use of principal minus
    fee, which is what the APR counts. The installment fee is charged on every installment.
    ``anchor_day`` (monthly only) is the day of month of due dates, clamped to month end;
    default the start's day. A rebuilt schedule passes the original loan's day.
    """

    principal: int
    annual_rate_percent: Decimal
    term: int
    start: dt.date
    frequency: Frequency = Frequency.MONTHLY
    method: Method = Method.EQUAL_INSTALLMENT
    currency: str = "CNY"
    day_count: DayCount = DayCount.ACT_365F
    interest_period: InterestPeriod = InterestPeriod.REPAYMENT
    principal_grace: int = 0
    interest_grace: int = 0
    installment_multiple: int = 1
    upfront_fee_fixed: int = 0
    upfront_fee_percent: Decimal = _ZERO
    upfront_fee_deducted: bool = True
    installment_fee_fixed: int = 0
    installment_fee_percent: Decimal = _ZERO
    anchor_day: int | None = None

    def __post_init__(self) -> None:
        # Plain strings are accepted for the enumerations and stored as their members.
        for name, kind in _ENUMS:
            value = getattr(self, name)
            if type(value) is not kind:
                try:
                    object.__setattr__(self, name, kind(value))
                except ValueError:
                    allowed = ", ".join(m.value for m in kind)
                    raise field_error(ValidationFailed, name, f"must be one of {allowed}") from None
        _validate(self)

    @property
    def installments(self) -> int:
        """How many installments the schedule has (a bullet or a single payment: one)."""
        if self.method is Method.BULLET or self.frequency is Frequency.SINGLE:
            return 1
        return self.term

    def upfront_fee(self) -> int:
        return fee_amount(self.principal, self.upfront_fee_fixed, self.upfront_fee_percent)

    def installment_fee(self) -> int:
        return fee_amount(self.principal, self.installment_fee_fixed, self.installment_fee_percent)


_ENUMS = (
    ("frequency", Frequency),
    ("method", Method),
    ("day_count", DayCount),
    ("interest_period", InterestPeriod),
)


def fee_amount(principal: int, fixed: int, percent: Decimal) -> int:
    """``fixed`` plus ``percent`` % of ``principal``, rounded half up to the minor unit."""
    if not percent:
        return fixed
    num, den = percent.as_integer_ratio()
    return fixed + (2 * principal * num + 100 * den) // (200 * den)


def _fail(name: str, message: str) -> ValidationFailed:
    error = field_error(ValidationFailed, name, message)
    assert isinstance(error, ValidationFailed)
    return error


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int:
        raise _fail(name, "must be an integer")
    if not low <= value <= high:
        raise _fail(name, f"must be between {low} and {high}")


def _check_percent(name: str, value: object, high: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _fail(name, "must be a finite Decimal (percent)")
    if not _ZERO <= value <= high:
        raise _fail(name, f"must be between 0 and {high} (percent)")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_RATE_DECIMALS:
        raise _fail(name, f"must have at most {MAX_RATE_DECIMALS} decimal places")


def _validate(t: Terms) -> None:
    _check_int("principal", t.principal, 1, MAX_MINOR_UNITS)
    if not isinstance(t.currency, str) or not _CURRENCY.match(t.currency):
        raise _fail("currency", "must be an ISO 4217 code such as CNY")
    _check_percent("annual_rate_percent", t.annual_rate_percent, MAX_RATE_PERCENT)
    single = t.frequency is Frequency.SINGLE
    _check_int("term", t.term, 1, MAX_SINGLE_DAYS if single else MAX_INSTALLMENTS)
    if not isinstance(t.start, dt.date) or isinstance(t.start, dt.datetime):
        raise _fail("start", "must be a date (not a date-time)")
    _check_last_due_date(t)
    _check_int("principal_grace", t.principal_grace, 0, MAX_INSTALLMENTS)
    if t.principal_grace and (single or t.method not in AMORTISING):
        raise _fail("principal_grace", "applies only to amortising methods paid in installments")
    if t.principal_grace >= t.term:
        raise _fail("principal_grace", "must leave at least one installment that repays principal")
    # Counted in periods: a bullet over 12 months may waive the first 3 months' interest.
    _check_int("interest_grace", t.interest_grace, 0, 1 if single else t.term)
    _check_int("installment_multiple", t.installment_multiple, 1, MAX_MINOR_UNITS)
    if t.installment_multiple != 1 and t.method is not Method.EQUAL_INSTALLMENT:
        raise _fail("installment_multiple", "applies only to equal_installment")
    for name in ("upfront_fee_fixed", "installment_fee_fixed"):
        _check_int(name, getattr(t, name), 0, MAX_MINOR_UNITS)
    _check_percent("upfront_fee_percent", t.upfront_fee_percent, _HUNDRED)
    _check_percent("installment_fee_percent", t.installment_fee_percent, _HUNDRED)
    if type(t.upfront_fee_deducted) is not bool:
        raise _fail("upfront_fee_deducted", "must be true or false")
    # The borrower must receive something, or there is no loan (and no APR).
    if t.upfront_fee() >= t.principal:
        raise _fail("upfront_fee_fixed", "the upfront fee must be less than the principal")
    if t.anchor_day is not None:
        _check_int("anchor_day", t.anchor_day, 1, 31)
        if t.frequency is not Frequency.MONTHLY:
            raise _fail("anchor_day", "applies only to monthly schedules")


def _check_last_due_date(t: Terms) -> None:
    if t.frequency is Frequency.MONTHLY:
        fits = (t.start.year * 12 + t.start.month - 1 + t.term) // 12 <= dt.MAXYEAR
    else:
        days = t.term if t.frequency is Frequency.SINGLE else PERIOD_DAYS[t.frequency] * t.term
        fits = t.start.toordinal() + days <= dt.date.max.toordinal()
    if not fits:
        raise _fail("term", "the last due date would fall after 9999-12-31")
