"""``ledger check``: recompute the cached totals from the immutable rows and compare.

The totals on ``ledger_account`` and the day buckets in ``ledger_account_day`` are caches that
the posting engine keeps in step with the journal. This module recomputes them with SQL
aggregates (the database does the summing; nothing here loops over postings) and reports
every difference, so a bug or a manual edit is found rather than trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from lendbridge.ledger.models import Account, AccountDay, Entry, Hold, HoldStatus, Posting, Side


@dataclass(frozen=True)
class Mismatch:
    """One disagreement: ``where`` names the account (and day) or currency, ``field`` the total,
    ``expected`` the value recomputed from the source rows, ``found`` the cached value."""

    kind: str
    where: str
    field: str
    expected: int
    found: int

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.where} {self.field} is {self.found}, "
            f"recomputed {self.expected} (off by {self.found - self.expected})"
        )


@dataclass
class CheckReport:
    accounts: int = 0
    postings: int = 0
    pending_holds: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class LedgerCounts:
    accounts: int
    entries: int
    postings: int
    holds: int


def counts(session: Session) -> LedgerCounts:
    """Row counts of the ledger, for reports and for proving a rerun wrote nothing."""

    def n(model: type[Account] | type[Entry] | type[Posting] | type[Hold]) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return LedgerCounts(n(Account), n(Entry), n(Posting), n(Hold))


def _sided(side: Side) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((Posting.side == side.value, Posting.amount), else_=0)), 0)


def check_ledger(session: Session) -> CheckReport:
    """Compare every cached total with its recomputation; an empty mismatch list means the
    ledger is consistent."""
    report = CheckReport(
        accounts=int(session.scalar(select(func.count()).select_from(Account)) or 0),
        postings=int(session.scalar(select(func.count()).select_from(Posting)) or 0),
        pending_holds=int(
            session.scalar(
                select(func.count())
                .select_from(Hold)
                .where(Hold.status == HoldStatus.PENDING.value)
            )
            or 0
        ),
    )
    report.mismatches.extend(_posted_totals(session))
    report.mismatches.extend(_day_buckets(session))
    report.mismatches.extend(_pending_totals(session))
    report.mismatches.extend(_entries_balance(session))
    report.mismatches.extend(_ledger_balances(session))
    return report


def _posted_totals(session: Session) -> list[Mismatch]:
    """Account posted totals against the sum of the account's postings."""
    sums = (
        select(
            Posting.account_id.label("account_id"),
            _sided(Side.DEBIT).label("d"),
            _sided(Side.CREDIT).label("c"),
        )
        .group_by(Posting.account_id)
        .subquery()
    )
    return _compare_totals(session, sums, "posted total", ("debits_posted", "credits_posted"))


def _day_buckets(session: Session) -> list[Mismatch]:
    """Day buckets against postings per (account, day). Together with the posted-total check
    this makes as-of balances (sums of buckets) agree with current ones."""
    from_postings = select(
        Posting.account_id.label("account_id"),
        Posting.effective_date.label("day"),
        case((Posting.side == Side.DEBIT.value, Posting.amount), else_=0).label("pd"),
        case((Posting.side == Side.CREDIT.value, Posting.amount), else_=0).label("pc"),
        literal(0, Integer).label("bd"),
        literal(0, Integer).label("bc"),
    )
    from_buckets = select(
        AccountDay.account_id,
        AccountDay.day,
        literal(0, Integer),
        literal(0, Integer),
        AccountDay.debits,
        AccountDay.credits,
    )
    both = union_all(from_postings, from_buckets).subquery()
    per_day = (
        select(
            both.c.account_id,
            both.c.day,
            func.sum(both.c.pd).label("pd"),
            func.sum(both.c.pc).label("pc"),
            func.sum(both.c.bd).label("bd"),
            func.sum(both.c.bc).label("bc"),
        )
        .group_by(both.c.account_id, both.c.day)
        .subquery()
    )
    rows = session.execute(
        select(Account.code, per_day.c.day, per_day.c.pd, per_day.c.pc, per_day.c.bd, per_day.c.bc)
        .join(Account, Account.id == per_day.c.account_id)
        .where(or_(per_day.c.pd != per_day.c.bd, per_day.c.pc != per_day.c.bc))
        .order_by(Account.code, per_day.c.day)
    )
    found: list[Mismatch] = []
    for code, day, pd, pc, bd, bc in rows:
        where = f"account {code} on {day}"
        if pd != bd:
            found.append(Mismatch("day bucket", where, "debits", int(pd), int(bd)))
        if pc != bc:
            found.append(Mismatch("day bucket", where, "credits", int(pc), int(bc)))
    return found


def _pending_totals(session: Session) -> list[Mismatch]:
    """Account pending totals against the pending holds on each side."""
    pending = Hold.status == HoldStatus.PENDING.value
    debit_side = (
        select(Hold.debit_account_id.label("account_id"), Hold.amount.label("d"))
        .where(pending)
        .add_columns(literal(0, Integer).label("c"))
    )
    credit_side = select(Hold.credit_account_id, literal(0, Integer), Hold.amount).where(pending)
    both = union_all(debit_side, credit_side).subquery()
    sums = (
        select(
            both.c.account_id,
            func.sum(both.c.d).label("d"),
            func.sum(both.c.c).label("c"),
        )
        .group_by(both.c.account_id)
        .subquery()
    )
    return _compare_totals(session, sums, "pending total", ("debits_pending", "credits_pending"))


def _entries_balance(session: Session, limit: int = 100) -> list[Mismatch]:
    """Each entry's debits equal its credits in every currency (the first ``limit`` that do
    not are listed; one is already a serious fault)."""
    rows = session.execute(
        select(
            Posting.entry_id,
            Posting.currency,
            _sided(Side.DEBIT),
            _sided(Side.CREDIT),
        )
        .group_by(Posting.entry_id, Posting.currency)
        .having(_sided(Side.DEBIT) != _sided(Side.CREDIT))
        .order_by(Posting.entry_id)
        .limit(limit)
    )
    return [
        Mismatch("unbalanced entry", f"entry {entry_id} in {ccy}", "credits", int(d), int(c))
        for entry_id, ccy, d, c in rows
    ]


def _ledger_balances(session: Session) -> list[Mismatch]:
    """Over the whole ledger, debits equal credits per currency, in the postings and in the
    cached account totals."""
    found: list[Mismatch] = []
    postings = session.execute(
        select(Posting.currency, _sided(Side.DEBIT), _sided(Side.CREDIT))
        .group_by(Posting.currency)
        .order_by(Posting.currency)
    )
    for ccy, d, c in postings:
        if d != c:
            found.append(Mismatch("ledger", f"postings in {ccy}", "credits", int(d), int(c)))
    cached = session.execute(
        select(Account.currency, func.sum(Account.debits_posted), func.sum(Account.credits_posted))
        .group_by(Account.currency)
        .order_by(Account.currency)
    )
    for ccy, d, c in cached:
        if d != c:
            found.append(Mismatch("ledger", f"account totals in {ccy}", "credits", int(d), int(c)))
    return found


def _compare_totals(
    session: Session, sums: Any, kind: str, names: tuple[str, str]
) -> list[Mismatch]:
    """Accounts whose cached ``names`` columns differ from ``sums`` (account_id, d, c);
    accounts absent from ``sums`` must have zero totals."""
    d, c = func.coalesce(sums.c.d, 0), func.coalesce(sums.c.c, 0)
    cached_d, cached_c = getattr(Account, names[0]), getattr(Account, names[1])
    rows = session.execute(
        select(Account.code, d, c, cached_d, cached_c)
        .outerjoin(sums, sums.c.account_id == Account.id)
        .where(or_(d != cached_d, c != cached_c))
        .order_by(Account.code)
    )
    return _pairs(kind, rows, names)


def _pairs(kind: str, rows: Iterable[Sequence[Any]], names: tuple[str, str]) -> list[Mismatch]:
    """Rows of (code, expected debit, expected credit, found debit, found credit)."""
    found: list[Mismatch] = []
    for code, exp_d, exp_c, got_d, got_c in rows:
        if exp_d != got_d:
            found.append(Mismatch(kind, f"account {code}", names[0], int(exp_d), int(got_d)))
        if exp_c != got_c:
            found.append(Mismatch(kind, f"account {code}", names[1], int(exp_c), int(got_c)))
    return found
