"""Applying, on both databases: the preliminary review (completeness against the model,
eligibility, one open application, velocity), the decision recorded against the
application, the offer with its schedule, manual review, declines with plain reasons, and
signing — contract stored and audited, loan created at the offered rate and paid out, the
application active once the money arrived."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from lendbridge.decisions.models import CreditDecision
from lendbridge.identity.codes import CodeRejected
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import ValidationFailed
from lendbridge.origination import signing
from lendbridge.origination.errors import (
    ApplicationStillOpen,
    IllegalApplicationMove,
    NotEligibleToApply,
    OfferExpired,
)
from lendbridge.origination.models import ApplicationStatus, LoanApplication, LoanContract
from lendbridge.servicing import loans
from tests.origination.conftest import Desk
from tests.origination.test_contract_pdf import page_texts

OFFICER_ADMIN = Actor(user_id="risk.officer", roles=("risk_analyst",))
GRADE_A = (600, 10_000)
GRADE_D = (510, 530)
DECLINED = (0, 490)


def test_a_good_applicant_is_offered_at_once_and_signs_into_an_active_loan(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    assert application.status == ApplicationStatus.OFFERED
    assert application.grade == "A"
    assert application.offer_amount == 10_000_00
    assert Decimal(application.offer_rate_percent or "0") == Decimal("9.6")  # grade A's rate
    assert application.offer_expires_on == desk.book.today() + dt.timedelta(days=7)

    out = desk.get(application.id)
    assert out.decision is not None
    assert out.decision.outcome == "approve"
    assert out.offer is not None
    assert len(out.offer.schedule.installments) == 12
    assert sum(i.principal for i in out.offer.schedule.installments) == 10_000_00
    assert out.reasons  # what weighed most, even on an approval

    signed = desk.sign(me, application.id, desk.code(me))
    assert signed.status == ApplicationStatus.SIGNED
    assert signed.loan_id is not None
    loan = desk.book.loan(signed.loan_id)
    assert (loan.principal, loan.term, loan.annual_rate_percent) == (10_000_00, 12, "9.6")
    assert loan.status == "pending_disbursement"

    desk.book.drain()  # the order is paid; the loan, then the application, become active
    assert desk.book.loan(signed.loan_id).status == "active"
    assert desk.get(application.id).status == ApplicationStatus.ACTIVE
    desk.book.check()

    def contract(session: Session) -> tuple[LoanContract, bytes, list[AuditRecord]]:
        row = session.scalars(select(LoanContract)).one()
        audit = list(
            session.scalars(
                select(AuditRecord).where(AuditRecord.action == "origination.contract.signed")
            )
        )
        return row, signing.contract_pdf(row), audit

    row, pdf, audit = desk.book.run(contract)
    assert hashlib.sha256(pdf).hexdigest() == row.sha256
    assert [a.after["sha256"] for a in audit] == [row.sha256]  # type: ignore[index]
    text = "".join(page_texts(pdf))
    assert "借款合同" in text
    assert "张伟" in text
    assert "壹万元整" in text


def test_the_decision_is_recorded_against_the_application(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))

    def decisions(session: Session) -> list[CreditDecision]:
        return list(
            session.scalars(
                select(CreditDecision).where(CreditDecision.application_id == application.id)
            )
        )

    (decision,) = desk.book.run(decisions)
    assert decision.id == application.decision_id
    snapshot = decision.input_snapshot
    assert snapshot["facts"]["requested_amount"] == 10_000_00
    assert snapshot["facts"]["age"] == 35  # 张伟, born 1990-03-07, on 2026-01-15
    assert snapshot["model"]["name"] == "german-scorecard"
    assert snapshot["policy"] == {
        "name": "standard",
        "version": 1,
        "sha256": snapshot["policy"]["sha256"],
    }


def test_the_same_key_returns_the_first_application(desk: Desk) -> None:
    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    first = desk.apply(me, body, key="apply-1")
    again = desk.apply(me, body, key="apply-1")
    assert again.id == first.id


def test_a_weak_applicant_is_declined_with_plain_reasons(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*DECLINED)))
    assert application.status == ApplicationStatus.DECLINED
    assert application.offer_amount is None
    codes = [r["code"] for r in application.reasons]
    assert "grade" in codes
    assert all(r["zh"] and r["en"] for r in application.reasons)
    # A declined application is not open: the borrower may apply again.
    desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))


def test_a_borderline_applicant_goes_to_review_and_an_officer_approves_less(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_D)))
    assert application.status == ApplicationStatus.IN_REVIEW
    assert application.grade == "D"
    with pytest.raises(ApplicationStillOpen):
        desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    with pytest.raises(ValidationFailed) as too_much:
        desk.approve(application.id, limit=(application.limit_amount or 0) + 100)
    assert too_much.value.errors[0].field == "limit"

    approved = desk.approve(application.id, limit=6_000_00)
    assert approved.status == ApplicationStatus.OFFERED
    assert approved.offer_amount == 6_000_00
    out = desk.get(application.id)
    assert out.reviewed_by == "officer.chen"
    assert [h.to_status for h in out.history] == ["in_review", "offered"]
    assert out.applicant.name is not None
    assert "*" in out.applicant.name
    with pytest.raises(IllegalApplicationMove):
        desk.decline(application.id)


def test_an_officer_declines_with_a_reason_the_applicant_reads(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_D)))
    declined = desk.decline(application.id)
    assert declined.status == ApplicationStatus.DECLINED
    assert declined.reasons[0] == {
        "code": "manual_review",
        "zh": "收入证明无法核实",
        "en": "The income could not be verified",
    }


def test_completeness_names_every_missing_or_wrong_feature(desk: Desk) -> None:
    me = desk.borrower()
    features = desk.features_scoring(*GRADE_A)
    del features["housing"]
    features["job"] = "astronaut"
    features["shoe_size"] = 42
    features["credit_amount"] = 5
    with pytest.raises(ValidationFailed) as refused:
        desk.apply(me, desk.body(features))
    assert sorted(e.field for e in refused.value.errors) == [
        "features.credit_amount",
        "features.housing",
        "features.job",
        "features.shoe_size",
    ]
    assert desk.book.run(lambda s: s.scalars(select(LoanApplication)).all()) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product_code": "NO-SUCH"}, "product_code"),
        ({"amount": 60_000_00}, "amount"),  # over the product's maximum
        ({"amount": 500_00}, "amount"),
        ({"term": 7}, "term"),
    ],
)
def test_bad_requests_name_the_field_and_store_nothing(
    desk: Desk, changes: dict[str, object], field: str
) -> None:
    me = desk.borrower()
    with pytest.raises(ValidationFailed) as refused:
        desk.apply(me, desk.body(desk.features_scoring(*GRADE_A), **changes))
    assert refused.value.errors[0].field == field
    assert desk.book.run(lambda s: s.scalars(select(LoanApplication)).all()) == []


def test_an_unverified_customer_cannot_apply(desk: Desk) -> None:
    me = desk.borrower("li", verify=False)
    with pytest.raises(NotEligibleToApply):
        desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))


def test_a_customer_without_a_bound_card_is_declined_by_the_kyc_rule(desk: Desk) -> None:
    me = desk.borrower("li", card=False)
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    assert application.status == ApplicationStatus.DECLINED
    assert "kyc_level" in [r["code"] for r in application.reasons]


def test_an_open_offer_blocks_a_second_application_until_it_expires(desk: Desk) -> None:
    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    first = desk.apply(me, body)
    with pytest.raises(ApplicationStillOpen):
        desk.apply(me, body)
    assert first.offer_expires_on is not None
    desk.book.set_date(first.offer_expires_on + dt.timedelta(days=1))
    second = desk.apply(me, body)
    assert second.status == ApplicationStatus.OFFERED
    assert desk.get(first.id).status == ApplicationStatus.EXPIRED


def test_an_expired_offer_cannot_be_signed(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    assert application.offer_expires_on is not None
    desk.book.set_date(application.offer_expires_on + dt.timedelta(days=1))
    code = desk.code(me)
    with pytest.raises(signing.CommitThenRaise) as refused:
        desk.sign(me, application.id, code)
    assert isinstance(refused.value.error, OfferExpired)


def test_a_wrong_code_signs_nothing_and_signing_twice_is_refused(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    code = desk.code(me)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(signing.CommitThenRaise) as refused:
        desk.sign(me, application.id, wrong)
    assert isinstance(refused.value.error, CodeRejected)
    assert desk.get(application.id).status == ApplicationStatus.OFFERED
    assert desk.book.run(lambda s: loans.list_loans(s).items) == []

    signed = desk.sign(me, application.id, code, key="sign-A")
    replay = desk.sign(me, application.id, code, key="sign-A")
    assert replay.loan_id == signed.loan_id
    with pytest.raises(signing.AlreadySigned):
        desk.sign(me, application.id, desk.code(me), key="sign-B")
    assert len(desk.book.run(lambda s: loans.list_loans(s).items)) == 1


def test_withdrawing_frees_the_borrower_to_apply_again(desk: Desk) -> None:
    from lendbridge.origination import applications

    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    first = desk.apply(me, body)
    withdrawn = desk.book.run(lambda s: applications.withdraw(s, first.id, first.customer_id, me))
    assert withdrawn.status == ApplicationStatus.WITHDRAWN
    assert desk.apply(me, body).status == ApplicationStatus.OFFERED


def test_another_customer_cannot_sign_my_offer(desk: Desk) -> None:
    from lendbridge.origination.errors import ApplicationNotFound

    me, other = desk.borrower(), desk.borrower("wang")
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    with pytest.raises(ApplicationNotFound):
        desk.sign(other, application.id, desk.code(other))


def test_recommendations_price_with_the_latest_grade(desk: Desk) -> None:
    from lendbridge.origination.applications import latest_grade

    me = desk.borrower()
    customer = desk.book.run(lambda s: latest_grade(s, uuid.UUID(str(me.user_id))))
    assert customer is None
    desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    grade = desk.book.run(lambda s: latest_grade(s, uuid.UUID(str(me.user_id))))
    assert grade == "A"


def test_a_listed_applicant_is_declined_by_the_risk_list_rule(desk: Desk) -> None:
    from lendbridge.risklist import service as risklist
    from lendbridge.risklist.models import RiskListKind

    me = desk.borrower()
    desk.book.run(
        lambda s: risklist.add(
            s,
            OFFICER_ADMIN,
            kind=RiskListKind.RESIDENT_ID,
            value="110105199003071239",  # 张伟's
            reason="fraud confirmed by the bank",
        )
    )
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    assert application.status == ApplicationStatus.DECLINED
    assert "not_blacklisted" in [r["code"] for r in application.reasons]


def test_velocity_sends_a_frequent_applicant_to_review(desk: Desk) -> None:
    from lendbridge.origination import applications

    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    for _ in range(4):  # the default policy: more than 3 in 7 days goes to a person
        row = desk.apply(me, body)
        desk.book.run(lambda s, r=row: applications.withdraw(s, r.id, r.customer_id, me))
    application = desk.apply(me, body)
    assert application.status == ApplicationStatus.IN_REVIEW
    assert "application_frequency" in [r["code"] for r in application.reasons]
