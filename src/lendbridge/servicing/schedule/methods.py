"""How each amortising method splits the principal over the installments, and the interest of
every period.

Arithmetic is on exact integer fractions: an annual rate of ``Decimal("8.4")`` percent is
``84 / 1000``, a period's interest ``balance * num / den`` for the period's ``(num, den)``, and
every amount is rounded once, half up, to the minor unit. That is exact (no precision context
to outgrow with large amounts or long terms) and it is the fast path of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

# Per period: interest on a base ``b`` is ``half_up(b * num, den)``.
Rates = Sequence[tuple[int, int]]
Split = tuple[list[int], list[int]]  # principal and interest per installment


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for a non-negative numerator."""
    return (2 * numerator + denominator) // (2 * denominator)


def level_payment(
    principal: int, count: int, rate: tuple[int, int], multiple: int = 1, *, down: bool = False
) -> int:
    """The equal installment that repays ``principal`` over ``count`` periods at the periodic
    ``rate`` = a / b: P·a·(a+b)^n / (b·((a+b)^n − b^n)), computed exactly and rounded half up
    (or ``down``) to ``multiple`` minor units (1: the minor unit; 100 fen: whole yuan)."""
    a, b = rate
    if a == 0:
        numerator, denominator = principal, count * multiple
    else:
        grown = (a + b) ** count
        numerator, denominator = principal * a * grown, b * (grown - b**count) * multiple
    if down:
        return numerator // denominator * multiple
    return half_up(numerator, denominator) * multiple


def equal_installment(
    principal: int, grace: int, rates: Rates, nominal: tuple[int, int], multiple: int
) -> Split:
    """等额本息: after ``grace`` interest-only installments, a level payment whose interest
    share falls as the balance does. A period's principal is the payment less that period's
    interest (never below zero); the last installment repays what is left, so it absorbs
    every rounding difference.

    The payment is rounded half up. Rounded up, the excess compounds: over a long term at a
    high rate, or rounded to a coarse multiple, it would repay the loan before its last
    installment. Then the payment is rounded down instead, and the last installment is the
    larger one."""
    count = len(rates)
    payment = level_payment(principal, count - grace, nominal, multiple)
    split = _level_split(principal, grace, rates, payment, early_stop=True)
    if split is None:
        payment = level_payment(principal, count - grace, nominal, multiple, down=True)
        split = _level_split(principal, grace, rates, payment, early_stop=False)
        assert split is not None
    return split


def _level_split(
    principal: int, grace: int, rates: Rates, payment: int, *, early_stop: bool
) -> Split | None:
    """The split under ``payment``; None if ``early_stop`` and the balance would be repaid
    before the last installment."""
    balance = principal
    principals: list[int] = []
    interests: list[int] = []
    last = len(rates) - 1
    for k, (num, den) in enumerate(rates):
        interest = (2 * balance * num + den) // (2 * den)
        if k < grace:
            part = 0
        elif k == last:
            part = balance
        else:
            part = payment - interest
            if part < 0:
                part = 0  # a long period at a high rate: the payment covers interest only
            elif part >= balance:
                if early_stop:
                    return None
                # Interest rounded half up, compounding over very long terms on a tiny
                # principal, can still repay early: the remaining installments are zero.
                part = balance
        balance -= part
        principals.append(part)
        interests.append(interest)
    return principals, interests


def equal_principal(principal: int, grace: int, rates: Rates, on_original: bool) -> Split:
    """等额本金 (interest on the balance) and 等本等息 (``on_original``: interest on the original
    principal every period). After ``grace`` interest-only installments each installment
    repays principal // n; the last also takes the remainder of that division."""
    count = len(rates)
    share = principal // (count - grace)
    principals = [0] * grace + [share] * (count - grace)
    principals[-1] = principal - share * (count - grace - 1)
    interests: list[int] = []
    balance = principal
    for k, (num, den) in enumerate(rates):
        base = principal if on_original else balance
        interests.append((2 * base * num + den) // (2 * den))
        balance -= principals[k]
    return principals, interests


def interest_only(principal: int, rates: Rates) -> Split:
    """先息后本: interest on the whole principal each period, the principal with the last."""
    principals = [0] * len(rates)
    principals[-1] = principal
    interests = [(2 * principal * num + den) // (2 * den) for num, den in rates]
    return principals, interests
