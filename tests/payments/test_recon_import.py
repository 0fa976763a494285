"""Reconciliation of a channel statement against payment orders: each match rule and each
kind of break, tolerances, unreadable lines beside good ones, the same file twice."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.kit import clock
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.payments import channel_config
from lendbridge.payments.models import PaymentOrder
from lendbridge.payments.recon import importer
from lendbridge.payments.recon.models import ReconBreak, ReconRun
from lendbridge.payments.recon.schemas import RunOut
from tests.conftest import TODAY
from tests.payments.conftest import ACTOR, Payments, channel_request

pytestmark = pytest.mark.usefixtures("payments")

HEADER = "trade_date,channel_ref,order_no,direction,amount,currency,status,fee,account,completed_at"
CARD = "6222021234560123"
_refs = iter(range(1, 10**6))


def add_order(
    p: Payments,
    amount: int,
    *,
    status: str = "succeeded",
    direction: str = "pay",
    completed_on: dt.date | None = TODAY,
    reversed_on: dt.date | None = None,
    business_date: dt.date = TODAY,
    channel_ref: str | None = "auto",
    card: str = CARD,
    channel: str = "sim",
) -> PaymentOrder:
    """A payment order as the platform has it, written directly (its lifecycle is tested
    elsewhere; reconciliation reads the columns)."""
    now = clock.now()
    order_id = uuid.uuid4()
    if channel_ref == "auto":
        channel_ref = f"SG{next(_refs):08d}"
    order = PaymentOrder(
        id=order_id,
        idempotency_key=f"recon-test-{order_id}",
        request_hash="0" * 64,
        kind="payout" if direction == "pay" else "repayment",
        direction=direction,
        channel=channel,
        account="2241.002.inv1",
        amount=amount,
        currency="CNY",
        party_account=card,
        party_account_index="0" * 64,
        party_account_masked=f"{card[:6]}{'*' * (len(card) - 10)}{card[-4:]}",
        party_name="张三",
        party_name_masked="张*",
        memo="",
        status=status,
        business_date=business_date,
        completed_on=completed_on if status in ("succeeded", "reversed", "failed") else None,
        reversed_on=reversed_on,
        attempts=1,
        channel_ref=channel_ref,
        manual=False,
        created_at=now,
        updated_at=now,
    )
    with unit_of_work(p.factory) as session:
        session.add(order)
    return order


def line(
    order: PaymentOrder | None = None,
    *,
    amount: int | None = None,
    order_no: str | None = "auto",
    channel_ref: str | None = "auto",
    status: str = "SUCCESS",
    day: dt.date = TODAY,
    direction: str | None = None,
    card: str | None = "auto",
    fee: str = "0.50",
) -> str:
    """A statement line as the simulated gateway prints it (amounts in yuan, masked card)."""
    if order_no == "auto":
        order_no = str(order.id) if order is not None else ""
    if channel_ref == "auto":
        channel_ref = (order.channel_ref or "") if order is not None else ""
    if card == "auto":
        card = order.party_account if order is not None else CARD
    minor = amount if amount is not None else (order.amount if order is not None else 0)
    yuan = format(Decimal(minor) / 100, ".2f")
    direction = direction or (order.direction if order is not None else "pay")
    account = f"{card[:4]}****{card[-4:]}" if card else ""
    return (
        f"{day.isoformat()},{channel_ref or ''},{order_no or ''},{direction},{yuan},CNY,"
        f"{status},{fee},{account},{day.isoformat()}T10:00:00+08:00"
    )


def statement(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def run(p: Payments, data: bytes, **options: object) -> tuple[RunOut, bool]:
    with unit_of_work(p.factory) as session:
        return importer.import_statement(
            session,
            "sim",
            io.BytesIO(data),
            actor=ACTOR,
            **options,  # type: ignore[arg-type]
        )


def breaks_of(p: Payments, run_id: uuid.UUID) -> list[ReconBreak]:
    with p.factory() as session:
        rows = list(
            session.scalars(
                select(ReconBreak).where(ReconBreak.run_id == run_id).order_by(ReconBreak.id)
            )
        )
        session.expunge_all()
    return rows


def of_kind(p: Payments, run_id: uuid.UUID, kind: str) -> list[ReconBreak]:
    return [b for b in breaks_of(p, run_id) if b.kind == kind]


def kinds(p: Payments, run_id: uuid.UUID) -> Counter[str]:
    return Counter(b.kind for b in breaks_of(p, run_id))


def test_every_line_matched_by_reference(payments: Payments) -> None:
    orders = [add_order(payments, amount) for amount in (10_000, 25_050, 1)]
    out, created = run(payments, statement(*(line(o) for o in orders)))
    assert created
    assert (out.lines, out.bad_lines, out.breaks) == (3, 0, 0)
    assert out.statement.count == 3
    assert out.statement.amount == 35_051
    assert out.platform.count == 3
    assert out.platform.amount == 35_051
    assert (out.matched_lines, out.matched_orders, out.matched_amount) == (3, 3, 35_051)
    assert out.matched_by_rule == {"reference": 3}
    assert (out.date_from, out.date_to) == (TODAY, TODAY)
    assert out.statement_fees == 150
    assert breaks_of(payments, out.id) == []


def test_channel_ref_names_the_order_when_order_no_is_missing_or_unknown(
    payments: Payments,
) -> None:
    a, b = add_order(payments, 10_000), add_order(payments, 20_000)
    out, _ = run(
        payments,
        statement(line(a, order_no=""), line(b, order_no=str(uuid.uuid4()))),
    )
    assert out.matched_by_rule == {"reference": 2}
    assert out.breaks == 0


def test_line_naming_no_order_is_missing_on_platform(payments: Payments) -> None:
    known = add_order(payments, 10_000)
    stranger = line(
        amount=777, order_no=str(uuid.uuid4()), channel_ref="SGX1", card="6222020000009999"
    )
    out, _ = run(payments, statement(line(known), stranger))
    (found,) = breaks_of(payments, out.id)
    assert found.kind == "missing_on_platform"
    assert (found.line_no, found.statement_amount, found.platform_amount) == (3, 777, None)
    assert found.channel_ref == "SGX1"
    assert found.status == "open"
    assert found.raised_on == TODAY
    assert found.statement_status == "succeeded"
    assert found.order_id is None
    assert out.breaks_by_kind["missing_on_platform"].count == 1
    assert out.breaks_by_kind["missing_on_platform"].amount == 777


def test_executed_order_without_a_line_is_missing_at_the_channel(payments: Payments) -> None:
    shown = add_order(payments, 10_000)
    missing = add_order(payments, 5_000)
    add_order(payments, 6_000, status="failed")  # never executed: not expected
    add_order(payments, 7_000, status="submitted", completed_on=None)
    add_order(payments, 8_000, completed_on=TODAY - dt.timedelta(days=1))  # another day
    reversed_missing = add_order(
        payments, 9_000, status="reversed", completed_on=TODAY, reversed_on=TODAY
    )
    out, _ = run(payments, statement(line(shown), line(reversed_missing)))
    found = breaks_of(payments, out.id)
    assert sorted((b.kind, str(b.order_id), b.movement) for b in found) == sorted(
        [
            ("missing_at_channel", str(missing.id), "success"),
            ("missing_at_channel", str(reversed_missing.id), "reversal"),
        ]
    )
    assert all(b.platform_amount and b.statement_amount is None for b in found)
    # The platform side: two successes and one reversal on the statement's date.
    assert out.platform.count == 4
    assert out.platform.amount == 10_000 + 5_000 + 9_000 + 9_000


def test_reversal_lines_match_reversed_orders(payments: Payments) -> None:
    order = add_order(payments, 9_000, status="reversed", reversed_on=TODAY)
    out, _ = run(payments, statement(line(order), line(order, status="REVERSED", fee="0.00")))
    assert out.breaks == 0
    assert out.matched_lines == 2
    assert out.matched_by_rule == {"reference": 2}


def test_amount_mismatch_by_reference(payments: Payments) -> None:
    order = add_order(payments, 10_000)
    out, _ = run(payments, statement(line(order, amount=10_001)))
    (found,) = breaks_of(payments, out.id)
    assert found.kind == "amount_mismatch"
    assert found.order_id == order.id
    assert (found.statement_amount, found.platform_amount, found.line_no) == (10_001, 10_000, 2)
    assert out.breaks_by_kind["amount_mismatch"].amount == 1
    assert out.matched_lines == 0


def test_direction_differing_is_an_amount_mismatch(payments: Payments) -> None:
    order = add_order(payments, 10_000)
    out, _ = run(payments, statement(line(order, direction="collect")))
    (found,) = breaks_of(payments, out.id)
    assert found.kind == "amount_mismatch"
    assert "collect" in found.detail


@pytest.mark.parametrize(
    ("order_status", "line_status"),
    [("failed", "SUCCESS"), ("submitted", "SUCCESS"), ("succeeded", "REVERSED")],
)
def test_status_mismatch(payments: Payments, order_status: str, line_status: str) -> None:
    order = add_order(payments, 10_000, status=order_status)
    lines = [line(order, status=line_status)]
    if line_status == "REVERSED":
        lines.insert(0, line(order))  # its SUCCESS line matches
    out, _ = run(payments, statement(*lines))
    (found,) = breaks_of(payments, out.id)
    assert found.kind == "status_mismatch"
    assert found.order_id == order.id
    assert found.platform_status == order_status
    assert found.statement_status == ("reversed" if line_status == "REVERSED" else "succeeded")
    assert out.breaks_by_kind.keys() == {"status_mismatch"}  # never also "missing"


def test_one_line_for_a_batch_of_orders_sharing_a_reference(payments: Payments) -> None:
    batch = [add_order(payments, amount, channel_ref="BATCH-1") for amount in (1_000, 2_000, 3_500)]
    out, _ = run(payments, statement(line(amount=6_500, order_no="", channel_ref="BATCH-1")))
    assert out.breaks == 0
    assert out.matched_by_rule == {"batch": 1}
    assert (out.matched_lines, out.matched_orders) == (1, 3)
    wrong = [add_order(payments, amount, channel_ref="BATCH-2") for amount in (1_000, 2_000)]
    out, _ = run(payments, statement(line(amount=2_999, order_no="", channel_ref="BATCH-2")))
    (found,) = of_kind(payments, out.id, "amount_mismatch")  # the first batch: not on it
    assert found.kind == "amount_mismatch"
    assert sorted(found.orders or []) == sorted(str(o.id) for o in wrong)
    assert (found.statement_amount, found.platform_amount) == (2_999, 3_000)
    del batch


def test_several_lines_for_one_order_split_by_the_channel(payments: Payments) -> None:
    order = add_order(payments, 10_000)
    out, _ = run(payments, statement(line(order, amount=6_000), line(order, amount=4_000)))
    assert out.breaks == 0
    assert out.matched_by_rule == {"split": 1}
    assert (out.matched_lines, out.matched_orders, out.matched_amount) == (2, 1, 10_000)
    duplicated = add_order(payments, 5_000)
    out, _ = run(payments, statement(line(duplicated), line(duplicated)))
    (found,) = of_kind(payments, out.id, "amount_mismatch")
    assert found.kind == "amount_mismatch"
    assert found.lines == [2, 3]
    assert (found.statement_amount, found.platform_amount) == (10_000, 5_000)
    assert out.matched_lines == 0


def test_unreferenced_lines_match_by_amount_date_and_account(payments: Payments) -> None:
    a = add_order(payments, 10_000, card="6222021111111111")
    b = add_order(payments, 10_000, card="6222022222222222")
    c = add_order(payments, 10_000, card="6222023333333333")
    out, _ = run(
        payments,
        statement(
            line(b, order_no="", channel_ref=""),
            line(a, order_no="", channel_ref=""),
            line(amount=10_000, order_no="", channel_ref="", card="6222029999999999"),
        ),
    )
    found = breaks_of(payments, out.id)
    assert out.matched_by_rule == {"amount_date_account": 2}
    assert sorted((f.kind, f.line_no or 0, str(f.order_id)) for f in found) == sorted(
        [("missing_on_platform", 4, "None"), ("missing_at_channel", 0, str(c.id))]
    )


def test_tolerances_for_amount_and_date(payments: Payments) -> None:
    order = add_order(payments, 10_000, completed_on=TODAY - dt.timedelta(days=1))
    data = statement(line(order, amount=10_002, order_no="", channel_ref=""))
    strict, _ = run(payments, data)
    assert kinds(payments, strict.id) == {"missing_on_platform": 1}  # not in range: no pair
    # Another file (same lines, one more blank line) with tolerances: matched.
    loose, created = run(payments, data + b"\n", date_tolerance_days=1, amount_tolerance=2)
    assert created
    assert loose.breaks == 0
    assert loose.matched_by_rule == {"amount_date_account": 1}
    assert (loose.date_tolerance_days, loose.amount_tolerance) == (1, 2)
    # Just outside either tolerance: not matched.
    too_far, _ = run(payments, data + b"\n\n", date_tolerance_days=1, amount_tolerance=1)
    assert kinds(payments, too_far.id) == {"missing_on_platform": 1}


def test_tolerances_from_the_channel_configuration(payments: Payments) -> None:
    with unit_of_work(payments.factory) as session:
        channel_config.save_channel(
            session,
            channel_request(
                statement_layout={"recon": {"date_tolerance_days": 2, "amount_tolerance": 5}}
            ),
            ACTOR,
        )
    order = add_order(payments, 10_000, completed_on=TODAY - dt.timedelta(days=2))
    out, _ = run(payments, statement(line(order, amount=10_005, order_no="", channel_ref="")))
    assert out.breaks == 0
    assert (out.date_tolerance_days, out.amount_tolerance) == (2, 5)
    referenced = add_order(payments, 20_000)
    out, _ = run(payments, statement(line(referenced, amount=20_004)))
    assert out.breaks == 0
    assert out.matched_by_rule == {"reference": 1}


def test_one_line_equal_to_several_orders_without_reference(payments: Payments) -> None:
    parts = [add_order(payments, amount, channel_ref=None) for amount in (1_200, 3_300, 500)]
    add_order(payments, 999_999, channel_ref=None, card="6222028888888888")  # other account
    out, _ = run(payments, statement(line(amount=5_000, order_no="", channel_ref="")))
    assert out.matched_by_rule == {"one_to_many": 1}
    assert (out.matched_lines, out.matched_orders, out.matched_amount) == (1, 3, 5_000)
    assert kinds(payments, out.id) == {"missing_at_channel": 1}
    del parts


def test_several_lines_equal_to_one_order_without_reference(payments: Payments) -> None:
    order = add_order(payments, 9_000, channel_ref=None)
    out, _ = run(
        payments,
        statement(
            line(order, amount=4_000, order_no="", channel_ref=""),
            line(order, amount=5_000, order_no="", channel_ref=""),
        ),
    )
    assert out.breaks == 0
    assert out.matched_by_rule == {"many_to_one": 1}
    assert (out.matched_lines, out.matched_orders) == (2, 1)


def test_unreferenced_success_line_for_a_failed_order_is_a_status_mismatch(
    payments: Payments,
) -> None:
    order = add_order(payments, 4_200, status="failed", channel_ref=None)
    out, _ = run(payments, statement(line(order, order_no="", channel_ref="")))
    (found,) = breaks_of(payments, out.id)
    assert (found.kind, found.order_id, found.line_no) == ("status_mismatch", order.id, 2)


def test_unreadable_lines_are_reported_and_the_good_ones_reconciled(payments: Payments) -> None:
    good = [add_order(payments, 1_000 * i) for i in range(1, 4)]
    data = statement(
        line(good[0]),
        "2026-01-15,SGBAD,,pay,12.345,CNY,SUCCESS,0,6222****0123,x",  # 3 decimals
        line(good[1]),
        "not-a-date,SGBAD2,,pay,1.00,CNY,SUCCESS,0,6222****0123,x",
        "2026-01-15,SGBAD3,,pay,1.00,CNY",  # too few fields
        line(good[2]),
    )
    out, _ = run(payments, data)
    assert (out.lines, out.bad_lines, out.statement.count, out.matched_lines) == (6, 3, 3, 3)
    unreadable = breaks_of(payments, out.id)
    assert [(b.kind, b.line_no) for b in unreadable] == [
        ("unreadable_line", 3),
        ("unreadable_line", 5),
        ("unreadable_line", 6),
    ]
    assert unreadable[0].detail.startswith("amount:")
    assert unreadable[1].detail.startswith("trade_date:")
    assert [s.line_no for s in out.bad_line_samples] == [3, 5, 6]
    assert out.bad_line_samples[0].field == "amount"


def test_the_same_file_twice_returns_the_first_run_and_changes_nothing(
    payments: Payments, session: Session
) -> None:
    order = add_order(payments, 10_000)
    data = statement(line(order), line(amount=5, order_no="", channel_ref=""))
    first, created = run(payments, data)
    assert created
    assert first.breaks == 1

    def counts() -> tuple[int, int, int]:
        return (
            session.scalar(select(func.count()).select_from(ReconRun)) or 0,
            session.scalar(select(func.count()).select_from(ReconBreak)) or 0,
            session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        )

    before = counts()
    session.rollback()
    again, created = run(payments, data)
    assert not created
    assert again == first
    assert counts() == before


def test_a_file_of_which_nothing_can_be_read_is_refused(payments: Payments) -> None:
    with pytest.raises(DomainError) as refused:
        run(payments, b"date,amount\n2026-01-15,1.00\n")
    assert refused.value.code == "statement_unreadable"
    assert refused.value.errors[0].field.startswith("statement.line.1")
    with pytest.raises(DomainError) as empty:
        run(payments, b"")
    assert empty.value.code == "statement_unreadable"
    with payments.factory() as session:
        assert session.scalar(select(func.count()).select_from(ReconRun)) == 0


def test_an_empty_statement_of_a_given_day(payments: Payments) -> None:
    order = add_order(payments, 10_000)
    with pytest.raises(DomainError) as no_date:
        run(payments, statement())
    assert no_date.value.errors[0].field == "date"
    out, _ = run(payments, statement(), statement_date=TODAY)
    (found,) = breaks_of(payments, out.id)
    assert (found.kind, found.order_id) == ("missing_at_channel", order.id)
    assert (out.lines, out.date_from, out.date_to) == (0, TODAY, TODAY)


def test_unknown_channel_and_bad_layout_configuration(payments: Payments) -> None:
    with pytest.raises(DomainError) as unknown, unit_of_work(payments.factory) as session:
        importer.import_statement(session, "nope", io.BytesIO(b""), actor=ACTOR)
    assert unknown.value.status == 404
    with unit_of_work(payments.factory) as session:
        channel_config.save_channel(
            session, channel_request(statement_layout={"amount_column": "x"}), ACTOR
        )
    with pytest.raises(DomainError) as bad:
        run(payments, statement())
    assert bad.value.status == 422
    assert bad.value.errors[0].field == "statement_layout"


def test_a_channel_layout_of_its_own(payments: Payments) -> None:
    layout = {
        "trade_date": "交易日期",
        "channel_ref": "流水号",
        "order_no": "商户订单号",
        "direction": "类型",
        "amount": "金额(分)",
        "status": "状态",
        "currency": None,
        "fee": None,
        "account": "卡号",
        "amount_unit": "minor",
        "date_format": "%Y%m%d",
        "direction_map": {"代付": "pay", "代扣": "collect"},
        "status_map": {"成功": "succeeded", "冲正": "reversed"},
        "recon": {"amount_tolerance": 0},
    }
    with unit_of_work(payments.factory) as session:
        channel_config.save_channel(session, channel_request(statement_layout=layout), ACTOR)
    order = add_order(payments, 12_345)
    data = (
        "交易日期,流水号,商户订单号,类型,金额(分),状态,卡号\n"
        f"20260115,{order.channel_ref},{order.id},代付,12345,成功,6222****0123\n"
    ).encode()
    out, _ = run(payments, data)
    assert out.breaks == 0
    assert out.matched_by_rule == {"reference": 1}


def test_a_later_statement_rematches_an_order_missing_at_the_channel(payments: Payments) -> None:
    order = add_order(payments, 10_000)
    first, _ = run(payments, statement(), statement_date=TODAY)
    (missing,) = breaks_of(payments, first.id)
    # The channel booked it on its next trade date.
    later, _ = run(payments, statement(line(order, day=TODAY + dt.timedelta(days=1))))
    assert later.breaks == 0
    assert later.rematched_breaks == 1
    with payments.factory() as session:
        resolved = session.get(ReconBreak, missing.id)
        assert resolved is not None
        assert (resolved.status, resolved.resolution) == ("resolved", "rematched")
        assert f"run {later.id}" in (resolved.note or "")
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"payments.recon.imported", "payments.recon.break.rematched"} <= actions


def test_the_same_file_imported_concurrently_makes_one_run(payments: Payments) -> None:
    """The second import waits for the first (PostgreSQL: on the run's unique key; SQLite:
    on the write lock) and then answers the first run."""
    order = add_order(payments, 10_000)
    data = statement(line(order), line(amount=5, order_no="", channel_ref=""))
    second: list[tuple[RunOut, bool]] = []
    with payments.factory() as session:
        first, created = importer.import_statement(session, "sim", io.BytesIO(data), actor=ACTOR)
        assert created
        waiting = threading.Thread(target=lambda: second.append(run(payments, data)))
        waiting.start()
        time.sleep(0.5)
        assert not second  # blocked behind the uncommitted first import
        session.commit()
    waiting.join(timeout=60)
    assert [(out.id, created) for out, created in second] == [(first.id, False)]
    with payments.factory() as session:
        assert session.scalar(select(func.count()).select_from(ReconRun)) == 1
        assert session.scalar(select(func.count()).select_from(ReconBreak)) == 1


@pytest.mark.parametrize(
    ("layout", "field"),
    [
        ({"recon": {"date_tolerance_days": 99}}, "statement_layout.recon.date_tolerance_days"),
        ({"recon": {"amount_tolerance": "1"}}, "statement_layout.recon.amount_tolerance"),
        ({"recon": {"days": 1}}, "statement_layout.recon"),
        ({"recon": [1]}, "statement_layout.recon"),
        ({"delimiter": ";;"}, "statement_layout"),
    ],
)
def test_invalid_reconciliation_settings_name_the_field(
    payments: Payments, layout: dict[str, object], field: str
) -> None:
    with unit_of_work(payments.factory) as session:
        channel_config.save_channel(session, channel_request(statement_layout=layout), ACTOR)
    with pytest.raises(DomainError) as refused:
        run(payments, statement(), statement_date=TODAY)
    assert refused.value.status == 422
    assert refused.value.errors[0].field == field
    with pytest.raises(DomainError) as override:
        run(payments, statement(), statement_date=TODAY, date_tolerance_days=-1)
    assert override.value.status == 422
