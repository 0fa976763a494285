"""The loans demo's plan: which loans, for whom, on which day, and how each borrower pays.

Days are counted from the start of the demo's history, ``DAYS`` business days before the
business date of the load; a loan whose ``day`` is ``DAYS`` is made on the business date
itself. The end states follow from the real close of business over those days, so the
margins are wide: a monthly installment falls due 28 to 31 days after the disbursement,
which keeps each overdue loan well inside its bucket (M1 1-30, M2 31-60, M3 61-90, M3+ over
90 days past due) whatever the calendar month lengths.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DAYS = 150  # of history: the oldest overdue loan is ~120 days past due (M3+)

# The identity demo's two borrowers with a verified identity and a bound card (phones).
ZHANG, LI = "13800000001", "13800000002"


class Pays(enum.StrEnum):
    NEVER = "never"
    ON_TIME = "on_time"  # each installment on its due date (up to ``installments_paid``)
    PARTIAL = "partial"  # half of the first installment on its due date, then nothing


@dataclass(frozen=True)
class DemoLoan:
    name: str  # in the idempotency keys: demo:loan:<name>
    borrower: str
    product: str
    amount: int  # fen
    term: int
    day: int  # made (and disbursed) this many days after the start
    expect: str  # the state it ends in, as shown by the summary
    pays: Pays = Pays.NEVER
    installments_paid: int | None = None  # ON_TIME: stop after this many (None: all)
    prepay: tuple[int, int] | None = None  # (day, amount): a prepayment reducing the term
    payoff_day: int | None = None
    disburse: bool = True
    cancel: bool = False
    write_off: bool = False


LOANS: tuple[DemoLoan, ...] = (
    DemoLoan("current", ZHANG, "CONSUMER-EI", 12_000_00, 12, 0, "active", Pays.ON_TIME),
    DemoLoan(
        "prepaid",
        LI,
        "CONSUMER-EI",
        20_000_00,
        12,
        0,
        "active, term reduced",
        Pays.ON_TIME,
        prepay=(45, 5_000_00),
    ),
    DemoLoan("paid-off", ZHANG, "SHORT-30D", 3_000_00, 30, 20, "paid_off", payoff_day=35),
    DemoLoan("paid-to-maturity", LI, "MICRO-WEEKLY", 2_000_00, 4, 60, "paid_off", Pays.ON_TIME),
    DemoLoan("m3-plus", ZHANG, "CONSUMER-EI", 10_000_00, 6, 0, "overdue M3+"),
    DemoLoan("m3", ZHANG, "CONSUMER-EI", 6_000_00, 6, 45, "overdue M3"),
    DemoLoan(
        "m2", LI, "CONSUMER-EI", 6_000_00, 6, 44, "overdue M2", Pays.ON_TIME, installments_paid=1
    ),
    DemoLoan("m1", ZHANG, "CONSUMER-EI", 5_000_00, 6, 100, "overdue M1", Pays.PARTIAL),
    DemoLoan("written-off", LI, "CONSUMER-EI", 8_000_00, 6, 5, "written_off", write_off=True),
    DemoLoan(
        "pending", LI, "CONSUMER-EI", 3_000_00, 6, DAYS, "pending_disbursement", disburse=False
    ),
    DemoLoan(
        "cancelled",
        ZHANG,
        "CONSUMER-EI",
        4_000_00,
        6,
        DAYS,
        "cancelled",
        disburse=False,
        cancel=True,
    ),
)
