"""The repayment-schedule engine (还款计划): pure calculation, no database.

``build_schedule(Terms(...))`` gives the plan (installments in integer minor units), ``apr``
its IRR-based annual percentage rate. See docs/schedules.md for the rules.
"""

from lendbridge.servicing.schedule.apr import Apr, apr
from lendbridge.servicing.schedule.engine import build_schedule, reamortise, term_for_installment
from lendbridge.servicing.schedule.schedule import Installment, Schedule
from lendbridge.servicing.schedule.terms import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Terms,
)

__all__ = [
    "Apr",
    "DayCount",
    "Frequency",
    "Installment",
    "InterestPeriod",
    "Method",
    "Schedule",
    "Terms",
    "apr",
    "build_schedule",
    "reamortise",
    "term_for_installment",
]
