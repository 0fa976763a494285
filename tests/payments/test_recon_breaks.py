"""Working the break queue: a written explanation, linking a line to its order, an adjusting
ledger entry through maker-checker (maker and checker different people), and the daily
report with its ageing of open breaks."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from lendbridge.approvals import service as approvals
from lendbridge.audit.models import AuditRecord
from lendbridge.kit import calendar
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.ledger import service as ledger
from lendbridge.payments.recon import approval_actions, breaks, report
from lendbridge.payments.recon.models import ReconBreak
from lendbridge.payments.recon.schemas import ResolveIn
from tests.conftest import TODAY
from tests.payments.conftest import Payments
from tests.payments.test_recon_import import add_order, breaks_of, line, run, statement

pytestmark = pytest.mark.usefixtures("payments")

MAKER = Actor(
    user_id="finance.maker", roles=("finance",), permissions=frozenset({"payments.recon"})
)
CHECKER = Actor(
    user_id="compliance.checker",
    roles=("compliance_officer",),
    permissions=frozenset({"approvals.decide"}),
)
NOBODY = Actor(user_id="loan.officer", roles=("loan_officer",))
assert approval_actions.ADJUST.name == "payments.recon.adjust"


def one_break(p: Payments, kind: str) -> ReconBreak:
    """A fresh statement with one break of ``kind`` (orders of earlier statements in the
    same test are reported missing from it too: those breaks are left aside)."""
    if kind == "missing_at_channel":
        order = add_order(p, 5_000, direction="collect")
        out, _ = run(p, statement(), statement_date=TODAY)
        (found,) = [b for b in breaks_of(p, out.id) if b.order_id == order.id]
        return found
    if kind == "missing_on_platform":
        data = statement(line(amount=777, order_no="", channel_ref="SGX", card="6222020000009999"))
    elif kind == "amount_mismatch":
        data = statement(line(add_order(p, 10_000), amount=10_001))
    else:
        data = statement("2026-01-15,SGBAD,,pay,12.345,CNY,SUCCESS,0,x,x", line(add_order(p, 1)))
    out, _ = run(p, data)
    (found,) = [b for b in breaks_of(p, out.id) if b.kind == kind]
    return found


def resolve(p: Payments, break_id: int, actor: Actor = MAKER, **body: object):
    with unit_of_work(p.factory) as session:
        return breaks.resolve(session, break_id, ResolveIn.model_validate(body), actor)


def audited(p: Payments, action: str) -> list[AuditRecord]:
    with p.factory() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_a_written_explanation_resolves_a_break_once(payments: Payments) -> None:
    found = one_break(payments, "missing_on_platform")
    out = resolve(payments, found.id, resolution="explain", note="channel test transaction")
    assert (out.status, out.resolution, out.note) == (
        "resolved",
        "explained",
        "channel test transaction",
    )
    assert (out.resolved_by, out.resolved_on) == ("finance.maker", TODAY)
    (trail,) = audited(payments, "payments.recon.break.explained")
    assert trail.target_id == str(found.id)
    assert trail.actor_id == "finance.maker"
    with pytest.raises(DomainError) as again:
        resolve(payments, found.id, resolution="explain", note="twice")
    assert again.value.code == "recon_break_resolved"
    assert again.value.status == 409
    with pytest.raises(DomainError) as adjust:
        resolve(payments, found.id, resolution="adjust", note="book it")
    assert adjust.value.errors[0].field == "resolution"
    assert "payments.recon.adjust" in adjust.value.detail


def test_linking_a_line_to_its_order_resolves_both_sides(payments: Payments) -> None:
    order = add_order(payments, 4_000, card="6222021111111111")
    # The line lost its order_no and shows another card: no rule can pair them.
    out, _ = run(
        payments,
        statement(line(order, order_no="", channel_ref="", card="6222020000002222")),
    )
    by_kind = {b.kind: b for b in breaks_of(payments, out.id)}
    assert by_kind.keys() == {"missing_on_platform", "missing_at_channel"}
    line_break = by_kind["missing_on_platform"]
    linked = resolve(
        payments, line_break.id, resolution="link", order_id=order.id, note="order_no dropped"
    )
    assert (linked.status, linked.resolution, linked.linked_order_id) == (
        "resolved",
        "linked",
        order.id,
    )
    with payments.factory() as session:
        other = session.get(ReconBreak, by_kind["missing_at_channel"].id)
        assert other is not None
        assert (other.status, other.resolution, other.linked_order_id) == (
            "resolved",
            "linked",
            order.id,
        )
        assert f"line {line_break.line_no}" in (other.note or "")
    assert len(audited(payments, "payments.recon.break.linked")) == 2


def test_linking_is_checked_like_a_match(payments: Payments) -> None:
    found = one_break(payments, "missing_on_platform")  # 777, pay, succeeded
    cases = {
        "unknown": (uuid.uuid4(), 422),
        "amount": (add_order(payments, 778).id, 409),
        "status": (add_order(payments, 777, status="failed").id, 409),
        "direction": (add_order(payments, 777, direction="collect").id, 409),
    }
    for order_id, status in cases.values():
        with pytest.raises(DomainError) as refused:
            resolve(payments, found.id, resolution="link", order_id=order_id, note="try")
        assert refused.value.status == status
        assert refused.value.errors[0].field == "order_id"
    mismatch = one_break(payments, "amount_mismatch")
    with pytest.raises(DomainError) as wrong_kind:
        resolve(payments, mismatch.id, resolution="link", order_id=uuid.uuid4(), note="try")
    assert wrong_kind.value.code == "recon_cannot_link"


@pytest.mark.parametrize(
    ("kind", "amount", "debit", "credit"),
    [
        # The channel paid 7.77 the platform has no order for: money left clearing.
        ("missing_on_platform", 777, "1901.001", "3001.001"),
        # The platform booked a 50.00 collection into clearing that the channel never made.
        ("missing_at_channel", 5_000, "1901.001", "3001.001"),
        # The channel paid 0.01 more than the order.
        ("amount_mismatch", 1, "1901.001", "3001.001"),
    ],
)
def test_an_adjusting_entry_through_maker_checker(
    payments: Payments, kind: str, amount: int, debit: str, credit: str
) -> None:
    found = one_break(payments, kind)
    with unit_of_work(payments.factory) as session:
        request = approvals.request_action(
            session,
            MAKER,
            action="payments.recon.adjust",
            payload={"break_id": found.id, "note": "written off to suspense"},
            reason="difference confirmed with the channel",
        )
        request_id = request.id
        assert request.payload["amount"] == amount
        assert (request.payload["debit_account"], request.payload["credit_account"]) == (
            debit,
            credit,
        )
    with payments.factory() as session:
        assert session.get(ReconBreak, found.id).status == "open"  # type: ignore[union-attr]
    with pytest.raises(DomainError) as own, unit_of_work(payments.factory) as session:
        approvals.decide(session, MAKER, request_id, approve=True, note="mine")
    assert own.value.code == "approvals.own_request"
    with unit_of_work(payments.factory) as session:
        decided = approvals.decide(session, CHECKER, request_id, approve=True, note="agreed")
        result = dict(decided.result or {})
    with payments.factory() as session:
        resolved = session.get(ReconBreak, found.id)
        assert resolved is not None
        assert (resolved.status, resolved.resolution) == ("resolved", "adjusted")
        assert resolved.approval_id == request_id
        assert str(resolved.entry_id) == result["entry_id"]
        assert resolved.resolved_by == "compliance.checker"
        entry = ledger.get_entry(session, uuid.UUID(result["entry_id"]))
    assert sorted((p.account, p.side.value, p.amount) for p in entry.postings) == sorted(
        [(debit, "debit", amount), (credit, "credit", amount)]
    )
    assert entry.event_type == "payment_recon"
    assert entry.event_id == str(found.id)
    assert len(audited(payments, "payments.recon.break.adjusted")) == 1
    # Resolved: another request is refused at once.
    with pytest.raises(DomainError) as again, unit_of_work(payments.factory) as session:
        approvals.request_action(
            session,
            MAKER,
            action="payments.recon.adjust",
            payload={"break_id": found.id},
            reason="x",
        )
    assert again.value.code == "recon_break_resolved"


def test_adjustment_requests_are_validated(payments: Payments) -> None:
    unreadable = one_break(payments, "unreadable_line")
    mismatch = one_break(payments, "amount_mismatch")
    cases = [
        (MAKER, {"break_id": unreadable.id}, "recon_nothing_to_adjust", "payload.break_id"),
        (MAKER, {"break_id": 10**12}, "validation_failed", "payload.break_id"),
        (MAKER, {"break_id": "x"}, "validation_failed", "payload.break_id"),
        (
            MAKER,
            {"break_id": mismatch.id, "counter_account": "9999.999"},
            "validation_failed",
            "payload.counter_account",
        ),
        (
            MAKER,
            {"break_id": mismatch.id, "counter_account": "3001.001"},
            "validation_failed",
            "payload.counter_account",
        ),
        (MAKER, {"break_id": mismatch.id, "extra": 1}, "validation_failed", "payload.extra"),
    ]
    for maker, payload, code, field in cases:
        with pytest.raises(DomainError) as refused, unit_of_work(payments.factory) as session:
            approvals.request_action(
                session, maker, action="payments.recon.adjust", payload=payload, reason="x"
            )
        assert refused.value.code == code, payload
        assert refused.value.errors[0].field == field, payload
    with pytest.raises(DomainError) as denied, unit_of_work(payments.factory) as session:
        approvals.request_action(
            session,
            NOBODY,
            action="payments.recon.adjust",
            payload={"break_id": mismatch.id},
            reason="x",
        )
    assert denied.value.status == 403


def test_an_approval_for_a_break_resolved_meanwhile_books_nothing(payments: Payments) -> None:
    found = one_break(payments, "amount_mismatch")
    with unit_of_work(payments.factory) as session:
        request_id = approvals.request_action(
            session,
            MAKER,
            action="payments.recon.adjust",
            payload={"break_id": found.id},
            reason="x",
        ).id
    resolve(payments, found.id, resolution="explain", note="the channel corrects it tomorrow")
    with pytest.raises(DomainError) as refused, unit_of_work(payments.factory) as session:
        approvals.decide(session, CHECKER, request_id, approve=True, note="ok")
    assert refused.value.code == "recon_break_resolved"
    with payments.factory() as session:
        assert session.get(ReconBreak, found.id).resolution == "explained"  # type: ignore[union-attr]


def set_day(p: Payments, day: dt.date) -> None:
    with unit_of_work(p.factory) as session:
        calendar.set_business_date(session, day)


def test_daily_report_figures_and_ageing_of_open_breaks(payments: Payments) -> None:
    today = TODAY + dt.timedelta(days=40)
    ages = {">30": 40, "8-30": 10, "4-7": 5, "2-3": 2, "0-1": 1}
    raised: dict[str, int] = {}
    for bucket, age in ages.items():
        day = today - dt.timedelta(days=age)
        set_day(payments, day)
        add_order(payments, 100 * age, completed_on=day, business_date=day)
        out, _ = run(payments, statement(), statement_date=day)
        (found,) = breaks_of(payments, out.id)
        raised[bucket] = found.id
    set_day(payments, today)
    matched = add_order(payments, 10_000, completed_on=today, business_date=today)
    wrong = add_order(payments, 20_000, completed_on=today, business_date=today)
    out, _ = run(
        payments,
        statement(
            line(matched, day=today),
            line(wrong, amount=20_100, day=today),
            line(amount=300, order_no="", channel_ref="", card="6222020000001111", day=today),
        ),
    )
    resolve(payments, raised["8-30"], resolution="explain", note="known")
    with payments.factory() as session:
        daily = report.daily_report(session, "sim", today)
        before = report.daily_report(session, "sim", today - dt.timedelta(days=1))
    assert daily.runs == [out.id]
    assert daily.currency == "CNY"
    assert (daily.statement.count, daily.statement.amount) == (3, 10_000 + 20_100 + 300)
    assert (daily.platform.count, daily.platform.amount) == (2, 30_000)
    assert (daily.matched_lines, daily.matched_amount) == (1, 10_000)
    assert {k: (v.count, v.amount, v.open) for k, v in daily.breaks_by_kind.items()} == {
        "amount_mismatch": (1, 100, 1),
        "missing_on_platform": (1, 300, 1),
    }
    buckets = {a.bucket: (a.count, a.amount) for a in daily.ageing}
    assert buckets == {
        "0-1": (3, 100 + 100 + 300),  # raised yesterday, and today's two
        "2-3": (1, 200),
        "4-7": (1, 500),
        "8-30": (0, 0),  # explained today
        ">30": (1, 4_000),
    }
    assert (daily.open_breaks.count, daily.open_breaks.amount) == (6, 5_200)
    assert daily.open_by_kind["missing_at_channel"].count == 4
    # As of yesterday: today's breaks did not exist yet, the explained one was still open.
    assert len(before.runs) == 1
    assert before.statement.count == 0
    assert (before.platform.count, before.breaks_by_kind["missing_at_channel"].open) == (1, 1)
    assert {a.bucket: a.count for a in before.ageing} == {
        "0-1": 2,  # aged 0 and 1 on that date
        "2-3": 0,
        "4-7": 1,
        "8-30": 1,
        ">30": 1,
    }


def test_report_of_an_unknown_channel(payments: Payments) -> None:
    with pytest.raises(DomainError) as unknown, payments.factory() as session:
        report.daily_report(session, "nope", TODAY)
    assert unknown.value.status == 404
