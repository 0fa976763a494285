"""Bringing loans current to a date: interest accrued for every day before it, and the fee of
every installment due on or before it charged.

``bring_current(session, loans, to)`` works on a batch of loans with a constant number of
statements: one lock of the loans (primary-key order), one read of the installments that
can change — from the loan's ``accrual_installment`` pointer, never the whole schedule, so a
loan two years old costs what a new one costs — one posting of the ledger entries (the
ledger's batch API for small batches, its bulk COPY path for large ones), one insert of the
loan transactions, and the updates. Repayments call it for one loan with their effective
date; the close of business (a later part of issue 5) calls it for every loan, a batch at a
time, with the next business date.

Each loan gets at most one ledger entry per call (Dr interest receivable / Cr interest
income, Dr fee receivable / Cr fee income), keyed ``loan:<id>:current:<to>``, and one
transaction per kind (``accrual``, and ``fee_charge`` per installment) linked to it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import DomainError
from lendbridge.kit.ids import new_id
from lendbridge.ledger import service as ledger
from lendbridge.ledger.bulk import BulkEntry
from lendbridge.ledger.models import Entry
from lendbridge.ledger.schemas import EntryIn
from lendbridge.ledger.service.hold_batches import post_entries
from lendbridge.servicing import accounting, lifecycle
from lendbridge.servicing.accrual import AccrualChange, advance
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import Loan, LoanInstallment, LoanTransaction, TransactionKind
from lendbridge.servicing.schedule import DayCount
from lendbridge.servicing.states import REPAYABLE

# Below this many entries a call posts through the ledger's batch API (ids come back); above
# it through bulk COPY, and the entry ids are read back by key.
BULK_THRESHOLD = 200
# The shortest period of a schedule with more than one installment is a week.
SHORTEST_PERIOD_DAYS = 7


def lock_loans(session: Session, loan_ids: Sequence[uuid.UUID]) -> list[Loan]:
    """Lock the loans' rows in primary-key order (never a deadlock between two batches)."""
    stmt = (
        select(Loan)
        .where(Loan.id.in_(sorted(set(loan_ids))))
        .order_by(Loan.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def bring_current(session: Session, loans: Sequence[Loan], to: dt.date, actor: Actor) -> int:
    """Recognise, for each disbursed loan (locked by the caller), the interest of every day
    before ``to`` and the fees of installments due on or before ``to``; loans already
    current are left alone. Returns how many loans changed."""
    live = [
        loan
        for loan in loans
        if loan.status in REPAYABLE
        and loan.interest_accrued_to is not None
        and loan.accrual_installment is not None
        and loan.interest_accrued_to < to
    ]
    if not live:
        return 0
    rows = _rows(session, live, to)
    changes: list[tuple[Loan, AccrualChange]] = []
    for loan in live:
        day_count = DayCount(product_of(session, loan).day_count)
        change = advance(loan, rows.get(loan.id, []), to, day_count)
        loan.interest_accrued_to = to
        if change.interest or change.fees:
            changes.append((loan, change))
    if changes:
        _book(session, changes, to, actor)
    session.flush()
    return len(changes)


def _rows(session: Session, loans: Sequence[Loan], to: dt.date) -> dict[uuid.UUID, list[Any]]:
    """The installments each loan's accrual can touch up to ``to``: from its pointer, as many
    as fit in the days to cover (one or two for a daily run)."""
    oldest = min(loan.interest_accrued_to for loan in loans if loan.interest_accrued_to)
    span = (to - oldest).days // SHORTEST_PERIOD_DAYS + 1
    stmt = (
        select(LoanInstallment)
        .join(Loan, Loan.id == LoanInstallment.loan_id)
        .where(
            Loan.id.in_([loan.id for loan in loans]),
            and_(
                LoanInstallment.number >= Loan.accrual_installment,
                LoanInstallment.number <= Loan.accrual_installment + span,
            ),
            LoanInstallment.start_date < to,
        )
        .order_by(LoanInstallment.loan_id, LoanInstallment.number)
    )
    out: dict[uuid.UUID, list[Any]] = {}
    for row in session.scalars(stmt):
        out.setdefault(row.loan_id, []).append(row)
    return out


def _book(
    session: Session, changes: list[tuple[Loan, AccrualChange]], to: dt.date, actor: Actor
) -> None:
    day = calendar.business_date(session)
    keyed: list[tuple[EntryIn, str]] = []
    for loan, change in changes:
        lines = accounting.accrual_lines(change.interest) + accounting.fee_charge_lines(change.fee)
        request = accounting.entry(
            lines,
            currency=loan.currency,
            effective_date=day,
            description=f"Loan {loan.id}: interest and fees to {to} / 利息计提",
            loan_id=loan.id,
            event="current",
        )
        keyed.append((request, f"loan:{loan.id}:current:{to}"))
    entry_ids = post_keyed(session, keyed)
    now = clock.now()
    who = lifecycle.actor_name(actor)
    rows: list[dict[str, Any]] = []
    for (loan, change), (_, key) in zip(changes, keyed, strict=True):
        entry_id = entry_ids[key]
        base = {
            "loan_id": loan.id,
            "business_date": day,
            "effective_date": to,
            "principal": 0,
            "penalty": 0,
            "entry_id": entry_id,
            "payment_order_id": None,
            "repayment_id": None,
            "actor": who,
            "created_at": now,
        }
        if change.interest:
            rows.append(
                base
                | {
                    "id": new_id(),
                    "kind": TransactionKind.ACCRUAL.value,
                    "amount": change.interest,
                    "interest": change.interest,
                    "fee": 0,
                    "idempotency_key": f"loan:{loan.id}:accrual:{to}",
                    "details": {"installments": change.by_installment},
                }
            )
        for number, fee in change.fees:
            rows.append(
                base
                | {
                    "id": new_id(),
                    "kind": TransactionKind.FEE_CHARGE.value,
                    "amount": fee,
                    "interest": 0,
                    "fee": fee,
                    "idempotency_key": f"loan:{loan.id}:fee:{number}",
                    "details": {"installment": number},
                }
            )
    session.execute(insert(LoanTransaction), rows)


def post_keyed(session: Session, keyed: Sequence[tuple[EntryIn, str]]) -> dict[str, uuid.UUID]:
    """Post independent entries under their keys, all or nothing; returns the entry id per
    key. Small batches go through the ledger's batch API; large ones through bulk COPY
    (``ledger.post_bulk``), whose entries are then found by key."""
    if len(keyed) <= BULK_THRESHOLD:
        results = post_entries(session, keyed)
        ids: dict[str, uuid.UUID] = {}
        for (_, key), result in zip(keyed, results, strict=True):
            if isinstance(result, DomainError):
                raise result
            ids[key] = result
        return ids
    ledger.post_bulk(session, (BulkEntry.from_model(request, key) for request, key in keyed))
    keys = [key for _, key in keyed]
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        for entry_id, booked in session.execute(
            select(Entry.id, Entry.idempotency_key).where(Entry.idempotency_key.in_(chunk))
        ):
            if booked is not None:
                found[booked] = entry_id
    return found
