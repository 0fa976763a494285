"""Bulk posting (``service.post_bulk``): plain rows, the engine's rules, all or nothing, and
idempotent reruns. Runs on SQLite and PostgreSQL (COPY there)."""

from __future__ import annotations

import datetime as dt
import gc
import sys
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lendbridge.kit.errors import DomainError, IdempotencyConflict, ValidationFailed
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.ledger import engine, service
from lendbridge.ledger.bulk import BulkEntry, BulkPosting, Parser
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import AccountStatus, AccountType, Entry, Posting, Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from tests.conftest import TODAY
from tests.ledger import factories as f

D, C = "debit", "credit"


def transfer(
    debit: str, credit: str, amount: int, key: str | None = None, **fields: Any
) -> BulkEntry:
    return BulkEntry(
        (BulkPosting(debit, D, amount, "CNY"), BulkPosting(credit, C, amount, "CNY")),
        key,
        **fields,
    )


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Entry)) or 0,
        session.scalar(select(func.count()).select_from(Posting)) or 0,
    )


def running_balances_off(session: Session) -> int:
    """Postings whose balance_after differs from the running sum of the account's postings
    in booking (id) order."""
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM (SELECT p.balance_after, sum(CASE WHEN p.side = "
                "a.normal_side THEN p.amount ELSE -p.amount END) OVER (PARTITION BY "
                "p.account_id ORDER BY p.id) AS running FROM ledger_posting p "
                "JOIN ledger_account a ON a.id = p.account_id) r "
                "WHERE r.balance_after <> r.running"
            )
        ).scalar_one()
    )


def consistent(session: Session) -> bool:
    report = check_ledger(session)
    assert report.ok, report.mismatches
    assert running_balances_off(session) == 0
    return True


@pytest.fixture
def chart(session):
    """bank (asset), wallet (liability, no overdraft), income, receivable, and a USD account,
    a frozen and a closed one; the wallet holds 1,000."""
    f.basic_chart(session)
    f.account(session, "usd", currency="USD")
    f.account(session, "frozen")
    f.account(session, "closed")
    service.set_account_status(session, "frozen", AccountStatus.FROZEN)
    service.set_account_status(session, "closed", AccountStatus.FROZEN)
    service.set_account_status(session, "closed", AccountStatus.CLOSED)
    f.transfer(session, "bank", "wallet", 1_000)
    session.commit()
    return session


def test_a_stream_in_many_chunks_keeps_every_invariant(chart):
    accounts = ["bank", "wallet", "income", "receivable"]
    expected: dict[str, int] = {"bank": 1_000, "wallet": 1_000, "income": 0, "receivable": 0}
    entries = []
    for i in range(230):
        debit, credit = accounts[i % 4], accounts[(i * 3 + 1) % 4]
        if debit == credit or debit == "wallet":  # the wallet may not overdraw: top it up
            debit, credit = "bank", "wallet"
        entries.append(transfer(debit, credit, 1 + i % 17, f"k-{i}"))
        # bank/receivable are debit-normal; wallet/income credit-normal
        expected[debit] += (1 + i % 17) * (1 if debit in ("bank", "receivable") else -1)
        expected[credit] += (1 + i % 17) * (-1 if credit in ("bank", "receivable") else 1)
    assert service.post_bulk(chart, iter(entries), chunk_size=37) == 230
    chart.commit()
    assert counts(chart) == (231, 462)
    for code, balance in expected.items():
        assert service.balance(chart, code).balance == balance
    assert consistent(chart)


def test_entries_keep_their_fields_and_default_to_the_business_date(chart):
    entries = [
        BulkEntry(
            [("bank", D, 300, "CNY"), ("wallet", C, 100, "CNY"), ("income", C, 200, "CNY")],
            "fields-1",
            description='多行 entry — with "quotes" and a\ttab',
            event_type="loan.disbursed",
            event_id="L-1",
        ),
        transfer("receivable", "income", 5, "fields-2", effective_date=TODAY.replace(day=3)),
        transfer("receivable", "income", 7, "fields-3", metadata={"loan": "L-9", "rate": 0.125}),
    ]
    assert service.post_bulk(chart, entries) == 3
    chart.commit()
    rows = {
        e.idempotency_key: e
        for e in chart.scalars(select(Entry).where(Entry.idempotency_key.is_not(None)))
    }
    first = rows["fields-1"]
    assert (first.description, first.event_type, first.event_id, first.posting_count) == (
        '多行 entry — with "quotes" and a\ttab',
        "loan.disbursed",
        "L-1",
        3,
    )
    assert first.effective_date == TODAY
    assert rows["fields-2"].effective_date == TODAY.replace(day=3)
    assert rows["fields-3"].meta == {"loan": "L-9", "rate": 0.125}
    assert service.balance(chart, "income", as_of=TODAY.replace(day=3)).balance == 5
    assert service.balance(chart, "income").balance == 212
    assert consistent(chart)


# The engine's single-entry cases: the bulk path must decide exactly what stage_entry decides.
CASES: dict[str, list[tuple[str, str, int, str]]] = {
    "plain transfer": [("bank", D, 250, "CNY"), ("wallet", C, 250, "CNY")],
    "one account twice": [
        ("wallet", D, 100, "CNY"),
        ("bank", D, 300, "CNY"),
        ("wallet", C, 400, "CNY"),
    ],
    "withdraw exactly the balance": [("wallet", D, 1_000, "CNY"), ("bank", C, 1_000, "CNY")],
    "unknown accounts, all named": [
        ("nope", D, 5, "CNY"),
        ("bank", C, 5, "CNY"),
        ("gone", C, 5, "CNY"),
        ("bank", D, 5, "CNY"),
    ],
    "currency mismatch": [("bank", D, 5, "USD"), ("usd", C, 5, "USD")],
    "frozen account": [("bank", D, 5, "CNY"), ("frozen", C, 5, "CNY")],
    "closed account": [("closed", D, 5, "CNY"), ("bank", C, 5, "CNY")],
    "over the limit": [("wallet", D, 1_001, "CNY"), ("bank", C, 1_001, "CNY")],
    "first line's problem wins": [
        ("frozen", D, 5, "CNY"),
        ("bank", D, 5, "USD"),
        ("bank", C, 5, "CNY"),
        ("usd", C, 5, "USD"),
    ],
    "64-bit overflow": [("bank", D, MAX_MINOR_UNITS, "CNY"), ("income", C, MAX_MINOR_UNITS, "CNY")],
}


def decided_by_engine(session: Session, lines: list[tuple[str, str, int, str]]) -> Any:
    request = EntryIn(
        postings=[PostingIn(account=a, side=Side(s), amount=m, currency=c) for a, s, m, c in lines]
    )
    try:
        ws = engine.lock_accounts(session, codes=(p.account for p in request.postings))
        staged = engine.stage_entry(ws, request, idempotency_key=None, field_prefix="entries.0.")
        return [p.balance_after for p in staged.postings]
    except DomainError as exc:
        return (type(exc), exc.detail, exc.errors, exc.extra)
    finally:
        session.rollback()


def decided_by_bulk(session: Session, lines: list[tuple[str, str, int, str]]) -> Any:
    try:
        service.post_bulk(session, [BulkEntry(lines, "case")])
    except DomainError as exc:
        session.rollback()
        return (type(exc), exc.detail, exc.errors, exc.extra)
    balances = session.scalars(
        select(Posting.balance_after)
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Entry.idempotency_key == "case")
        .order_by(Posting.line)
    ).all()
    session.rollback()
    return list(balances)


@pytest.mark.parametrize("case", list(CASES))
def test_bulk_and_engine_agree(chart, case):
    assert decided_by_bulk(chart, CASES[case]) == decided_by_engine(chart, CASES[case])


def test_a_refused_entry_refuses_the_whole_call_and_names_its_position(chart):
    before = counts(chart)
    entries = [transfer("bank", "income", 1, f"a-{i}") for i in range(20)]
    entries.append(transfer("bank", "frozen", 1, "a-frozen"))  # position 20, a later chunk
    with pytest.raises(DomainError) as caught:
        service.post_bulk(chart, entries, chunk_size=6)
    assert caught.value.errors[0].field == "entries.20.postings.1.account"
    # Nothing of the call remains, and the transaction is still usable.
    assert counts(chart) == before
    assert service.post_bulk(chart, entries[:20]) == 20
    chart.commit()
    assert counts(chart) == (before[0] + 20, before[1] + 40)
    assert consistent(chart)


def test_limits_apply_entry_by_entry_in_stream_order(chart):
    # The wallet holds 1,000: withdraw 600, top up 500, withdraw 900 leaves zero ...
    ok = [
        transfer("wallet", "bank", 600, "w-1"),
        transfer("bank", "wallet", 500, "w-2"),
        transfer("wallet", "bank", 900, "w-3"),
    ]
    assert service.post_bulk(chart, ok, chunk_size=2) == 3
    chart.commit()
    assert service.balance(chart, "wallet").balance == 0
    # ... and a withdrawal before its top-up is refused even if the top-up follows.
    late = [transfer("wallet", "bank", 10, "w-4"), transfer("bank", "wallet", 10, "w-5")]
    with pytest.raises(DomainError) as caught:
        service.post_bulk(chart, late)
    assert caught.value.code == "ledger.balance_limit_exceeded"
    assert caught.value.errors[0].field == "entries.0.postings"
    assert caught.value.extra["account"] == "wallet"
    assert service.balance(chart, "wallet").balance == 0
    assert consistent(chart)


def test_frozen_and_closed_accounts_refuse_bulk_postings(chart):
    for code in ("frozen", "closed"):
        with pytest.raises(DomainError) as caught:
            service.post_bulk(chart, [transfer("bank", code, 1)])
        assert caught.value.code == "ledger.account_not_open"
    service.set_account_status(chart, "frozen", AccountStatus.OPEN)
    assert service.post_bulk(chart, [transfer("bank", "frozen", 1)]) == 1
    chart.commit()
    assert consistent(chart)


def test_a_rerun_skips_what_was_booked_and_posts_the_rest(chart):
    entries = [transfer("bank", "income", i + 1, f"r-{i}") for i in range(40)]
    assert service.post_bulk(chart, entries[:25], chunk_size=7) == 25
    chart.commit()
    assert service.post_bulk(chart, entries, chunk_size=9) == 15
    chart.commit()
    assert service.post_bulk(chart, entries, chunk_size=40) == 0
    chart.commit()
    assert counts(chart) == (41, 82)
    assert service.balance(chart, "income").balance == sum(range(1, 41))
    assert consistent(chart)


def test_a_key_booked_with_other_content_is_a_conflict_and_writes_nothing(chart):
    service.post_bulk(chart, [transfer("bank", "income", 5, "c-1")])
    chart.commit()
    before = counts(chart)
    changed = [transfer("bank", "income", 1, "c-0"), transfer("bank", "income", 6, "c-1")]
    with pytest.raises(IdempotencyConflict) as caught:
        service.post_bulk(chart, changed)
    assert [e.field for e in caught.value.errors] == ["postings"]
    assert counts(chart) == before


def test_keys_are_shared_with_single_entries(chart):
    """A key booked by post_entry is recognised in bulk, and the other way round: both hash
    the same content the same way."""
    single = f.entry_in("bank", "income", 42, description="same")
    first = service.post_entry(chart, single, idempotency_key="s-1")
    chart.commit()
    again = [transfer("bank", "income", 42, "s-1", description="same")]
    assert service.post_bulk(chart, again) == 0
    rich = BulkEntry(
        [("bank", D, 7, "CNY"), ("income", C, 7, "CNY")], "s-2", metadata={"batch": [1, "x"]}
    )
    assert service.post_bulk(chart, [rich]) == 1
    chart.commit()
    replay = service.post_entry(chart, rich.to_model(), idempotency_key="s-2")
    assert replay.metadata == {"batch": [1, "x"]}
    assert service.get_entry(chart, first.id) == first
    assert counts(chart) == (3, 6)


def test_a_key_repeated_in_the_stream(chart):
    same = [transfer("bank", "income", 1, "dup")] * 2
    with pytest.raises(ValidationFailed) as caught:
        service.post_bulk(chart, same)  # within one chunk: refused
    assert caught.value.errors[0].field == "entries.1"
    # In a later chunk, while the first is being written or after: the same content is
    # booked once, other content is a conflict.
    assert service.post_bulk(chart, same, chunk_size=1) == 1
    spread = [transfer("bank", "income", 2, f"x-{i}") for i in range(5)]
    assert service.post_bulk(chart, [same[0], *spread, same[0]], chunk_size=2) == 5
    with pytest.raises(IdempotencyConflict):  # the first is in flight
        service.post_bulk(
            chart,
            [transfer("bank", "income", 3, "new"), transfer("bank", "income", 4, "new")],
            chunk_size=1,
        )
    for chunk_size in (1, 2):  # written one or two chunks before
        with pytest.raises(IdempotencyConflict):
            service.post_bulk(
                chart, [*spread[:3], transfer("bank", "income", 9, "dup")], chunk_size=chunk_size
            )
    chart.commit()
    assert counts(chart) == (7, 14)
    assert consistent(chart)


BAD_ROWS: dict[str, tuple[BulkEntry, str]] = {
    "unbalanced": (
        BulkEntry([("bank", D, 100, "CNY"), ("wallet", C, 99, "CNY")]),
        "entries.0.postings",
    ),
    "balanced across currencies only": (
        BulkEntry([("bank", D, 100, "CNY"), ("usd", C, 100, "USD")]),
        "entries.0.postings",
    ),
    "one posting": (BulkEntry([("bank", D, 1, "CNY")]), "entries.0.postings"),
    "zero amount": (
        BulkEntry([("bank", D, 0, "CNY"), ("wallet", C, 0, "CNY")]),
        "entries.0.postings.0.amount",
    ),
    "boolean amount": (
        BulkEntry([("bank", D, True, "CNY"), ("wallet", C, True, "CNY")]),
        "entries.0.postings.0.amount",
    ),
    "float amount": (
        BulkEntry([("bank", D, 1.0, "CNY"), ("wallet", C, 1.0, "CNY")]),
        "entries.0.postings.0.amount",
    ),
    "amount past 64 bits": (
        BulkEntry([("bank", D, 2**63, "CNY"), ("wallet", C, 2**63, "CNY")]),
        "entries.0.postings.0.amount",
    ),
    "side": (
        BulkEntry([("bank", "dr", 1, "CNY"), ("wallet", C, 1, "CNY")]),
        "entries.0.postings.0.side",
    ),
    "currency": (
        BulkEntry([("bank", D, 1, "cny"), ("wallet", C, 1, "cny")]),
        "entries.0.postings.0.currency",
    ),
    "account code": (
        BulkEntry([("bank", D, 1, "CNY"), ("wal let", C, 1, "CNY")]),
        "entries.0.postings.1.account",
    ),
    "posting shape": (BulkEntry([("bank", D, 1), ("wallet", C, 1)]), "entries.0.postings.0"),
    "description too long": (
        transfer("bank", "wallet", 1, description="x" * 501),
        "entries.0.description",
    ),
    "NUL in the description": (
        transfer("bank", "wallet", 1, description="a\x00b"),
        "entries.0.description",
    ),
    "event type": (transfer("bank", "wallet", 1, event_type="Loan"), "entries.0.event_type"),
    "event id": (transfer("bank", "wallet", 1, event_id=""), "entries.0.event_id"),
    "long key": (transfer("bank", "wallet", 1, "k" * 201), "entries.0.idempotency_key"),
    "date and time as the date": (
        transfer("bank", "wallet", 1, effective_date=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)),
        "entries.0.effective_date",
    ),
    "metadata not JSON": (
        transfer("bank", "wallet", 1, metadata={"x": object()}),
        "entries.0.metadata.x",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_malformed_rows_are_refused_naming_the_field(chart, case):
    row, field = BAD_ROWS[case]
    before = counts(chart)
    with pytest.raises(ValidationFailed) as caught:
        service.post_bulk(chart, [transfer("bank", "income", 1), row])
    assert caught.value.errors[0].field.replace("entries.1.", "entries.0.").startswith(field)
    assert counts(chart) == before


def test_not_a_bulk_entry_is_refused(chart):
    with pytest.raises(ValidationFailed):
        service.post_bulk(chart, [("bank", "wallet", 1)])


def test_the_bulk_hash_is_the_entry_models_hash():
    texts = ["", "bulk transfer", 'q"uo\\te', "tab\tnew\nline\r\x01\x1f\x7f", "中文 é 😀 \u2028"]
    parser = Parser()
    for i, description in enumerate(texts):
        for effective, event_type, event_id in [
            (None, None, None),
            (TODAY, "loan.repaid", "R-1"),
            (dt.date(2025, 12, 31), None, '中/"x"'),
        ]:
            row = BulkEntry(
                [("a.1", D, 10 + i, "CNY"), ("b-2:x", C, 3, "CNY"), ("C.3", C, 7 + i, "CNY")],
                None,
                effective,
                description,
                None,
                event_type,
                event_id,
            )
            model = EntryIn(
                postings=[
                    PostingIn(account=a, side=Side(s), amount=m, currency=c)
                    for a, s, m, c in row.postings
                ],
                effective_date=effective,
                description=description,
                event_type=event_type,
                event_id=event_id,
            )
            assert parser.parse(row, 0).digest == engine.request_hash(model)
            assert BulkEntry.from_model(model).to_model() == model


def test_post_stream_takes_models_through_the_same_path(chart):
    pairs = [(f.entry_in("bank", "income", 3), f"m-{i}") for i in range(12)]
    assert service.post_stream(chart, pairs, chunk_size=5) == 12
    assert service.post_stream(chart, pairs, chunk_size=5) == 0
    chart.commit()
    assert service.balance(chart, "income").balance == 36
    assert consistent(chart)


def test_an_empty_stream_writes_nothing(chart):
    assert service.post_bulk(chart, []) == 0
    with pytest.raises(ValueError, match="chunk_size"):
        service.post_bulk(chart, [], chunk_size=0)


def test_many_accounts_and_dates(session):
    for i in range(30):
        f.account(session, f"cust.{i:03d}", AccountType.LIABILITY)
    f.account(session, "cash")
    session.commit()
    entries = [
        transfer(
            "cash",
            f"cust.{(i * 7) % 30:03d}",
            100 + i,
            f"d-{i}",
            effective_date=TODAY - dt.timedelta(days=i % 3),
        )
        for i in range(90)
    ]
    assert service.post_bulk(session, entries, chunk_size=11) == 90
    session.commit()
    assert service.balance(session, "cash").balance == sum(100 + i for i in range(90))
    two_days_ago = TODAY - dt.timedelta(days=2)
    assert service.balance(session, "cash", as_of=two_days_ago).balance == sum(
        100 + i for i in range(90) if i % 3 == 2
    )
    assert consistent(session)


def test_the_call_restores_the_interpreters_settings(chart):
    """A call pauses the cyclic garbage collector and shortens the GIL switch interval while
    it runs; both come back afterwards, after an error too."""
    interval = sys.getswitchinterval()
    assert gc.isenabled()
    assert service.post_bulk(chart, [transfer("bank", "income", 1)]) == 1
    with pytest.raises(DomainError):
        service.post_bulk(chart, [transfer("bank", "frozen", 1)])
    assert gc.isenabled()
    assert sys.getswitchinterval() == interval
