"""Helpers for the workout tests: a maker and a checker, and restructures and write-offs
requested and approved through the real maker-checker service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.kit.actor import Actor
from lendbridge.servicing import loan_actions  # noqa: F401  (registers the actions)
from lendbridge.servicing.models import Loan, LoanTransaction
from tests.servicing.conftest import Book

MAKER = Actor(
    user_id="maker.officer",
    roles=("loan_officer",),
    permissions=frozenset({"loans.workout.request", "loans.recover", "loans.read"}),
)
CHECKER = Actor(
    user_id="checker.compliance",
    roles=("compliance_officer",),
    permissions=frozenset({"approvals.decide"}),
)


def ask(book: Book, action: str, payload: dict[str, Any], maker: Actor = MAKER) -> uuid.UUID:
    """Request ``action`` as the maker; returns the approval request's id."""
    return book.run(  # type: ignore[no-any-return]
        lambda s: (
            approvals.request_action(
                s, maker, action=action, payload=payload, reason="workout test"
            ).id
        )
    )


def decide(
    book: Book, request_id: uuid.UUID, *, approve: bool = True, checker: Actor = CHECKER
) -> dict[str, Any] | None:
    """Approve (running the action) or reject; returns the action's result."""
    return book.run(  # type: ignore[no-any-return]
        lambda s: approvals.decide(s, checker, request_id, approve=approve, note="checked").result
    )


def restructure(book: Book, loan_id: uuid.UUID, **terms: Any) -> dict[str, Any] | None:
    request_id = ask(book, "loans.restructure", {"loan_id": str(loan_id), **terms})
    return decide(book, request_id)


def write_off(book: Book, loan_id: uuid.UUID) -> dict[str, Any] | None:
    return decide(book, ask(book, "loans.write_off", {"loan_id": str(loan_id)}))


def loan_row(book: Book, loan_id: uuid.UUID) -> Loan:
    return book.run(lambda s: s.get(Loan, loan_id))  # type: ignore[no-any-return]


def transactions(book: Book, loan_id: uuid.UUID, kind: str) -> list[LoanTransaction]:
    def read(session: Session) -> list[LoanTransaction]:
        rows = session.scalars(
            select(LoanTransaction)
            .where(LoanTransaction.loan_id == loan_id, LoanTransaction.kind == kind)
            .order_by(LoanTransaction.id)
        )
        out = list(rows)
        session.expunge_all()
        return out

    return book.run(read)  # type: ignore[no-any-return]


# The loan steps (accrual, delinquency, penalty interest, provisions): one step or several,
# whichever way the close of business registers them; not collection orders or reminders.
LOAN_STEPS = (
    "loans.close",
    "loans.accrue",
    "loans.delinquency",
    "loans.penalty",
    "loans.provision",
)


def close(book: Book, to_date: dt.date) -> None:
    """Close every business day before ``to_date`` with the loan steps (accrual,
    delinquency, penalty interest, provisions), as registered by the close of business."""
    import lendbridge.servicing.cob.steps  # noqa: F401  (registers the loan steps)
    from lendbridge.servicing.cob import runner

    chosen = [s for s in runner.registered_steps() if s.name in LOAN_STEPS]
    assert chosen
    runner.run_cob(book.factory, to_date, steps=chosen)
