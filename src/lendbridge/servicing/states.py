"""The loan's state machine: the only status changes the platform accepts.

::

    pending_disbursement ──► active ◄──► overdue ──► restructured
           │                  │  │          │  │          │
           ▼                  │  └──────────┼──┼──► paid_off
       cancelled              └─────────────┴──┴──► written_off

``pending_disbursement -> active`` happens when the disbursement's payment order succeeds (a
failed one leaves the loan pending, to be retried or cancelled); ``-> cancelled`` only before
any money left. ``active <-> overdue`` is the close of business's (``cob/delinquency.py``);
restructure and write-off go through maker-checker (``restructure.py``, ``writeoff.py``);
paid off, written off and cancelled are final — except that a paid-off loan whose paying
repayment the channel reverses is reopened (``REOPEN``).
"""

from __future__ import annotations

from lendbridge.kit.errors import Conflict
from lendbridge.servicing.models import LoanStatus

S = LoanStatus

LEGAL: dict[LoanStatus, frozenset[LoanStatus]] = {
    S.PENDING_DISBURSEMENT: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.OVERDUE, S.PAID_OFF, S.WRITTEN_OFF, S.RESTRUCTURED}),
    S.OVERDUE: frozenset({S.ACTIVE, S.PAID_OFF, S.WRITTEN_OFF, S.RESTRUCTURED}),
    S.RESTRUCTURED: frozenset({S.OVERDUE, S.PAID_OFF, S.WRITTEN_OFF}),
    S.PAID_OFF: frozenset(),
    S.WRITTEN_OFF: frozenset(),
    S.CANCELLED: frozenset(),
}

# Reopening is not an ordinary move: ``paid_off -> active`` happens only when a channel
# reverses the repayment that paid the loan off and it owes again (``reversals.py``), through
# ``lifecycle.transition(..., reopen=True)``.
REOPEN: dict[LoanStatus, frozenset[LoanStatus]] = {S.PAID_OFF: frozenset({S.ACTIVE})}

TERMINAL = frozenset(s for s, targets in LEGAL.items() if not targets)
# A loan that owes money and takes repayments.
REPAYABLE = frozenset({S.ACTIVE, S.OVERDUE, S.RESTRUCTURED})


class IllegalTransition(Conflict):
    code = "loan_illegal_transition"
    title = "This loan cannot make that status change"


def check(current: LoanStatus, target: LoanStatus) -> None:
    if target not in LEGAL[current]:
        allowed = ", ".join(sorted(LEGAL[current])) or "none (final)"
        raise IllegalTransition(f"a loan cannot go from {current} to {target} (allowed: {allowed})")
