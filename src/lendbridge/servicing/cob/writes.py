"""Booking a batch of the loans' close with a constant number of statements, whatever its size:

- **one ledger entry per currency** for the whole batch (the day's interest, fees, penalty
  interest and provision changes of its loans, summed per account), keyed by the day and the
  batch's first loan: the general ledger gets the totals, the loans' own journal the detail;
  ``check.py`` compares the two;
- the loan transactions (``COPY`` on PostgreSQL, one multi-row insert elsewhere), each naming
  the batch's entry;
- the changed installments, and every loan row of the batch (balances, watermarks,
  delinquency, provision, status, version), each in one ``UPDATE ... FROM unnest(...)`` on
  PostgreSQL, one executemany elsewhere;
- the status changes: their transition rows in one insert and an audit record each.

All in the caller's transaction, which also holds the batch's row locks.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import uuid_utils
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import clock, db
from lendbridge.kit.actor import Actor
from lendbridge.kit.ids import new_id
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from lendbridge.servicing import lifecycle
from lendbridge.servicing.cob.phases import BatchBook
from lendbridge.servicing.cob.rows import LoanRow
from lendbridge.servicing.models import Loan, LoanInstallment, LoanTransaction, LoanTransition

EVENT_TYPE = "cob.loans"
# One encoder for every row: json.dumps with options builds a new one per call.
_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# The order of the fields in each COPY line of ``_insert_transactions``.
_COPY_COLUMNS = (
    "id",
    "loan_id",
    "kind",
    "effective_date",
    "amount",
    "principal",
    "interest",
    "fee",
    "penalty",
    "entry_id",
    "idempotency_key",
    "details",
    "business_date",
    "actor",
    "created_at",
)
Columns = tuple[tuple[str, str], ...]  # (name, PostgreSQL type) of each
_LOANS = cast(Table, Loan.__table__)
_INSTALLMENTS = cast(Table, LoanInstallment.__table__)
_LOAN_KEYS: Columns = (("id", "uuid"),)
_LOAN_COLUMNS: Columns = (
    ("status", "text"),
    ("interest_outstanding", "bigint"),
    ("fee_outstanding", "bigint"),
    ("penalty_outstanding", "bigint"),
    ("interest_accrued_to", "date"),
    ("accrual_installment", "integer"),
    ("dpd", "integer"),
    ("overdue_since", "date"),
    ("delinquency_bucket", "text"),
    ("classification", "text"),
    ("delinquency_as_of", "date"),
    ("penalty_through", "date"),
    ("provision", "bigint"),
    ("provision_as_of", "date"),
)
_INSTALLMENT_KEYS: Columns = (("loan_id", "uuid"), ("number", "integer"))
_INSTALLMENT_COLUMNS: Columns = (
    ("interest_accrued", "bigint"),
    ("fee_charged", "bigint"),
    ("penalty_due", "bigint"),
)


def write_batch(
    session: Session,
    loans: Sequence[LoanRow],
    book: BatchBook,
    *,
    business_date: dt.date,
    day: dt.date,
    actor: Actor,
) -> None:
    """Book what the day's rules did to the batch's ``loans`` (``book``)."""
    if not loans:
        return
    now = clock.now()
    entries = _post_entries(session, book, business_date, day, loans[0].id)
    _insert_transactions(session, book, entries, business_date, now, actor)
    changed = [r for loan in loans for r in loan.rows() if r.changed]
    _update_rows(session, _INSTALLMENTS, changed, _INSTALLMENT_KEYS, _INSTALLMENT_COLUMNS)
    _update_rows(session, _LOANS, loans, _LOAN_KEYS, _LOAN_COLUMNS, stamp=now)
    _record_transitions(session, book, business_date, now, actor)


def _post_entries(
    session: Session, book: BatchBook, business_date: dt.date, day: dt.date, first: uuid.UUID
) -> dict[str, uuid.UUID]:
    """One entry per currency of the batch's summed lines (each account netted to one side);
    returns the entry id per currency."""
    net: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (currency, account, side), amount in book.lines.items():
        net[currency][account] += amount if side is Side.DEBIT else -amount
    out: dict[str, uuid.UUID] = {}
    for currency, accounts in sorted(net.items()):
        postings = [
            PostingIn(
                account=account,
                side=Side.DEBIT if amount > 0 else Side.CREDIT,
                amount=abs(amount),
                currency=currency,
            )
            for account, amount in sorted(accounts.items())
            if amount
        ]
        if not postings:
            continue
        request = EntryIn(
            postings=postings,
            effective_date=business_date,
            description=(
                f"Close of business {day}: interest, fees, penalty interest and provisions "
                "of a batch of loans / 日终批量计提"
            ),
            event_type=EVENT_TYPE,
            event_id=f"{day}:{first}",
        )
        key = f"cob:{day}:loans:{first}:{currency}"
        out[currency] = ledger.post_entry(session, request, idempotency_key=key).id
    return out


def _insert_transactions(
    session: Session,
    book: BatchBook,
    entries: dict[str, uuid.UUID],
    business_date: dt.date,
    now: dt.datetime,
    actor: Actor,
) -> None:
    if not book.bookings:
        return
    who = lifecycle.actor_name(actor)
    pg = db.postgres_connection(session)
    if pg is None:
        session.execute(
            insert(LoanTransaction),
            [
                {
                    "id": new_id(),
                    "loan_id": b.loan_id,
                    "kind": b.kind,
                    "business_date": business_date,
                    "effective_date": b.effective_date,
                    "amount": b.amount,
                    "principal": 0,
                    "interest": b.interest,
                    "fee": b.fee,
                    "penalty": b.penalty,
                    "entry_id": entries[b.currency],
                    "idempotency_key": b.key,
                    "details": b.details,
                    "actor": who,
                    "created_at": now,
                }
                for b in book.bookings
            ],
        )
        return
    # COPY in text format, each line formatted here: a third of the cost of letting the driver
    # adapt fifteen values per row. Every value is a number, a date, a uuid (hex, which
    # PostgreSQL reads), a fixed word, or JSON/keys of such (escaped anyway).
    fixed = "\t".join((business_date.isoformat(), _escape(who), now.isoformat()))
    entry_hex = {currency: entry.hex for currency, entry in entries.items()}
    day_text: dict[dt.date, str] = {}
    lines = []
    for b in book.bookings:
        effective = day_text.get(b.effective_date)
        if effective is None:
            effective = day_text[b.effective_date] = b.effective_date.isoformat()
        lines.append(
            f"{uuid_utils.uuid7().hex}\t{b.loan_id.hex}\t{b.kind}\t{effective}\t{b.amount}\t0\t"
            f"{b.interest}\t{b.fee}\t{b.penalty}\t{entry_hex[b.currency]}\t"
            f"{_escape(b.key)}\t{_escape(_json(b.details))}\t{fixed}\n"
        )
    with (
        pg.cursor() as cursor,
        cursor.copy(f"COPY loan_transaction ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        copy.write("".join(lines))


def _escape(text: str) -> str:
    """COPY text format: backslash, tab and newline escaped."""
    if "\\" in text or "\t" in text or "\n" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _update_rows(
    session: Session,
    table: Table,
    rows: Sequence[object],
    keys: Columns,
    columns: Columns,
    *,
    stamp: dt.datetime | None = None,
) -> None:
    """Write each row's ``columns`` onto the table's row with the same ``keys``: one
    ``UPDATE ... FROM unnest(<an array per column>)`` on PostgreSQL (one statement however
    many rows), an executemany on SQLite. With ``stamp``, the rows' version is bumped and
    ``updated_at`` set to it."""
    if not rows:
        return
    key_names = [name for name, _ in keys]
    names = [name for name, _ in columns]
    pg = db.postgres_connection(session)
    if pg is None:
        stamped = {"version": table.c.version + 1, "updated_at": stamp} if stamp else {}
        stmt = (
            update(table)
            .where(*(table.c[k] == bindparam(f"k_{k}") for k in key_names))
            .values({name: bindparam(f"v_{name}") for name in names} | stamped)
        )
        keyed = [
            {f"k_{k}": getattr(r, k) for k in key_names}
            | {f"v_{name}": getattr(r, name) for name in names}
            for r in rows
        ]
        session.connection().execute(stmt, keyed)
        return
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    if stamp:
        sets += ", version = t.version + 1, updated_at = %s"
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in (*keys, *columns))
    sql = (
        f"UPDATE {table.name} AS t SET {sets} "
        f"FROM unnest({arrays}) AS v({', '.join(key_names + names)}) "
        f"WHERE {' AND '.join(f't.{k} = v.{k}' for k in key_names)}"
    )
    params: list[Any] = [stamp] if stamp else []
    params += [
        (db.pg_text_array if kind == "text" else db.pg_array)(getattr(r, name) for r in rows)
        for name, kind in (*keys, *columns)
    ]
    pg.execute(sql, params)


def _record_transitions(
    session: Session, book: BatchBook, business_date: dt.date, now: dt.datetime, actor: Actor
) -> None:
    if not book.transitions:
        return
    who = lifecycle.actor_name(actor)
    session.execute(
        insert(LoanTransition),
        [
            {
                "loan_id": t.loan_id,
                "from_status": t.from_status,
                "to_status": t.to_status,
                "reason": t.reason[:200],
                "actor": who,
                "business_date": business_date,
                "at": now,
            }
            for t in book.transitions
        ],
    )
    for t in book.transitions:
        record(
            session,
            actor,
            action=f"loans.loan.{t.to_status}",
            target_type=lifecycle.TARGET,
            target_id=str(t.loan_id),
            before={"status": t.from_status},
            after={"status": t.to_status, "reason": t.reason[:200]},
        )
