"""The output of the engine: the repayment plan, every amount in integer minor units."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from lendbridge.servicing.schedule.terms import Terms


class Installment(NamedTuple):
    """One row of the plan. A named tuple rather than a dataclass: a portfolio rebuilds
    millions of rows, and a tuple is the cheapest immutable record to create."""

    number: int
    due_date: dt.date
    principal: int
    interest: int
    fee: int
    total: int  # principal + interest + fee
    balance: int  # principal outstanding after this installment is paid


@dataclass(frozen=True, slots=True)
class Schedule:
    terms: Terms
    installments: tuple[Installment, ...]
    # How many installment intervals make a year, as an exact fraction: 12/1 monthly, 26/1
    # biweekly, 52/1 weekly; a bullet's one interval is the whole term (12/term monthly) and
    # a single payment's is ``term`` days (365/term). The APR annualises by it.
    periods_per_year: tuple[int, int]
    upfront_fee: int
    disbursed: int  # paid out to the borrower: principal, less the upfront fee if deducted
    total_principal: int
    total_interest: int
    total_fees: int  # the upfront fee plus every installment's fee
    total_repayment: int  # the sum of the installments' totals
