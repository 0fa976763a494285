"""Recommendations on both databases: products ranked as documented (fit score, then APR),
prices checked against the schedule engine, and the reasons: the amount above a product's
maximum, the nearest term, affordability, KYC; who may see them (the customer and staff with
applications.read; anyone else: 404); a clear problem before the questionnaire."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.decisions import policies
from lendbridge.identity.models import User
from lendbridge.kit.actor import system_actor
from lendbridge.kit.errors import ValidationFailed
from lendbridge.origination.needs import Need
from lendbridge.origination.recommendation_schemas import RecommendationOut, RecommendationsOut
from lendbridge.origination.recommendations import nearest_term, recommend
from lendbridge.products import pricing
from lendbridge.products import service as products
from lendbridge.servicing.schedule import apr, build_schedule
from tests.conftest import TODAY
from tests.identity.factories import bearer, token_for
from tests.products import factories as product_factory
from tests.servicing.factories import customer

NEEDS = "/v1/me/needs"


def url(customer_id: uuid.UUID | str) -> str:
    return f"/v1/customers/{customer_id}/recommendations"


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=str(engine.url), log_format="console", var_dir=tmp_path)
    return create_app(settings, engine=engine)


@pytest.fixture
def catalogue(app: FastAPI, engine: Engine) -> None:
    """The default policy (grade A 9.6 %, debt-to-income at most 0.5) and four products:
    two that fit 20,000 yuan over 12 months exactly (12 % and 10 %), one whose terms are 6
    and 24 months (8 %), one lending at most 10,000 yuan."""
    with Session(engine) as session:
        policies.ensure_default_policy(session, system_actor("setup"))
        for changes in (
            {"code": "FIT-12", "annual_rate_percent": "12"},
            {"code": "FIT-10", "annual_rate_percent": "10"},
            {"code": "NEAR-TERM", "annual_rate_percent": "8", "allowed_terms": [6, 24]},
            {"code": "SMALL-MAX", "max_amount": 10_000_00, "allowed_terms": [12]},
        ):
            values: dict[str, Any] = {"max_amount": 50_000_00, "allowed_terms": [6, 12]}
            product_factory.saved(session, **(values | changes))
        session.commit()


def borrower(engine: Engine, who: str = "zhang", **kw: Any) -> uuid.UUID:
    with Session(engine) as session:
        user_id = customer(session, who, **kw)
        session.commit()
        return user_id


def client_for(app: FastAPI, engine: Engine, user_id: uuid.UUID) -> TestClient:
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        headers = {"Authorization": f"Bearer {token_for(app, session, user)}"}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def staff_client(app: FastAPI, engine: Engine, role: str) -> TestClient:
    with Session(engine) as session:
        headers = bearer(app, session, role)
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def recommended(engine: Engine, user_id: uuid.UUID, need: Need, grade: str | None = None) -> Any:
    with Session(engine) as session:
        return recommend(session, user_id, need, grade)


NEED = Need(
    amount=20_000_00, term_months=12, monthly_income=20_000_00, monthly_obligations=1_000_00
)


def by_code(result: RecommendationsOut) -> dict[str, RecommendationOut]:
    return {r.product_code: r for r in result.recommendations}


def codes(reasons: list[Any]) -> list[str]:
    return [r.code if hasattr(r, "code") else r["code"] for r in reasons]


def check_against_engine(engine: Engine, item: RecommendationOut) -> None:
    """Every figure of ``item`` from the schedule engine at the item's amount, term and rate
    from the business date; the monthly payment is the total repayment over the loan's
    months, rounded up to the fen."""
    with Session(engine) as session:
        product = products.get_product(session, item.product_code)
    terms = dataclasses.replace(
        pricing.engine_terms(product, item.amount, item.term, TODAY),
        annual_rate_percent=Decimal(item.rate_percent),
    )
    schedule = build_schedule(terms)
    num, den = schedule.periods_per_year
    months = len(schedule.installments) * 12 * den
    assert item.monthly_payment == -(-schedule.total_repayment * num // months)
    assert item.first_installment == schedule.installments[0].total
    assert item.installments == len(schedule.installments)
    assert item.total_interest == schedule.total_interest
    assert item.total_fees == schedule.total_fees
    assert item.total_repayment == schedule.total_repayment
    assert item.disbursed == schedule.disbursed
    assert item.apr_percent == str(apr(schedule).apr)


@pytest.mark.usefixtures("catalogue")
def test_ranked_by_fit_then_apr_with_the_engines_figures(engine: Engine) -> None:
    user_id = borrower(engine)
    result = recommended(engine, user_id, NEED)
    assert [(r.rank, r.product_code, r.fit.total) for r in result.recommendations] == [
        (1, "FIT-10", 100),  # exact fit, the lower APR first
        (2, "FIT-12", 100),
        (3, "SMALL-MAX", 75),  # half the amount: 25 of 50 points
        (4, "NEAR-TERM", 70),  # 6 months away from the term needed: 0 of 30 points
    ]
    assert result.ineligible == []
    assert (result.as_of, result.policy, result.grade) == (TODAY, "standard/v1", None)
    assert (result.ready_to_apply, result.kyc_level) == (True, "bank_card_bound")
    assert result.platform_monthly_installments == 0
    assert result.max_debt_to_income == "0.5"
    for item in result.recommendations:
        check_against_engine(engine, item)

    fit12 = by_code(result)["FIT-12"]
    # The textbook installment of 20,000 yuan at 1 % a month over 12 months: 1,776.98 yuan.
    assert (fit12.monthly_payment, fit12.first_installment) == (177_698, 177_698)
    assert (fit12.total_interest, fit12.total_repayment) == (132_370, 2_132_370)
    assert (fit12.amount, fit12.term, fit12.term_unit, fit12.installments) == (
        20_000_00,
        12,
        "months",
        12,
    )
    assert fit12.fit.model_dump() == {"amount": 50, "term": 30, "affordability": 20, "total": 100}
    # (1,000 declared + 0 on the platform + 1,776.98) / 20,000
    assert (fit12.payment_to_income, fit12.debt_to_income) == ("0.0888", "0.1388")
    assert codes(fit12.reasons) == ["fit", "rate_range", "affordability"]
    assert fit12.reasons[0].zh == "金额与期限完全符合您的需求"
    assert fit12.reasons[0].en == "The amount and term match your needs"
    # Without a grade: the best grade's 9.6 % up to the product's 12 %, estimated at 12 %.
    assert (fit12.rate_low_percent, fit12.rate_percent, fit12.rate_high_percent) == (
        "9.6",
        "12",
        "12",
    )
    assert fit12.reasons[1].en == (
        "Estimated annual rate 9.6% to 12%, estimated at 12%; the credit decision sets your rate"
    )
    assert fit12.reasons[2].zh == "月供约占收入的9%，连同其他还款共约14%，在50%的上限之内"
    assert fit12.reasons[2].en == (
        "The payment is about 9% of your income; with your other payments about 14%, within "
        "the 50% limit"
    )
    # A product priced below the best grade's rate: one rate, no range.
    near = by_code(result)["NEAR-TERM"]
    assert (near.rate_low_percent, near.rate_percent) == ("8", "8")
    assert "rate" in codes(near.reasons)


@pytest.mark.usefixtures("catalogue")
def test_above_the_maximum_the_product_is_estimated_at_its_maximum(engine: Engine) -> None:
    small = by_code(recommended(engine, borrower(engine), NEED))["SMALL-MAX"]
    assert (small.amount, small.term) == (10_000_00, 12)
    assert small.fit.model_dump() == {"amount": 25, "term": 30, "affordability": 20, "total": 75}
    assert codes(small.reasons) == ["amount_capped", "term", "rate_range", "affordability"]
    assert small.reasons[0].zh == ("该产品最高可借10,000.00元，按最高额度估算（您需要20,000.00元）")
    assert small.reasons[0].en == (
        "This product lends at most 10,000.00 yuan: estimated at its maximum "
        "(you need 20,000.00 yuan)"
    )


@pytest.mark.usefixtures("catalogue")
def test_a_term_the_product_lacks_is_estimated_at_the_nearest(engine: Engine) -> None:
    near = by_code(recommended(engine, borrower(engine), NEED))["NEAR-TERM"]
    assert (near.amount, near.term) == (20_000_00, 6)  # 6 is 6 months away, 24 is 12
    assert near.fit.term == 0
    assert codes(near.reasons)[:2] == ["amount", "term_nearest"]
    assert near.reasons[1].zh == "该产品没有12个月的期限，按最接近的6个月估算"
    assert (
        near.reasons[1].en
        == "This product has no 12-month term: estimated at the nearest, 6 months"
    )
    nine = by_code(
        recommended(engine, borrower(engine, "li"), dataclasses.replace(NEED, term_months=9))
    )
    assert nine["NEAR-TERM"].term == 6
    assert nine["NEAR-TERM"].fit.term == 30 - 5 * 3
    assert nine["FIT-12"].term == 12  # 6 and 12 are both 3 months away: the longer


def test_the_nearest_term_is_measured_in_months() -> None:
    weekly = product_factory.product(frequency="weekly", allowed_terms=[4, 8, 12])
    assert nearest_term(weekly, 2) == 8  # 8 weeks are 1.85 months; 12 weeks 2.77
    assert nearest_term(weekly, 1) == 4
    single = product_factory.product(frequency="single", method="bullet", allowed_terms=[30, 90])
    assert nearest_term(single, 1) == 30  # 30 days are 0.99 months
    assert nearest_term(single, 2) == 90  # 90 days are 2.96 months: 0.96 away, 30 days 1.01
    monthly = product_factory.product(allowed_terms=[6, 18])
    assert nearest_term(monthly, 12) == 18  # a tie: the longer (the lower payment)


@pytest.mark.usefixtures("catalogue")
def test_an_unaffordable_product_is_left_out_with_the_ratio(engine: Engine) -> None:
    need = dataclasses.replace(NEED, monthly_income=8_000_00, monthly_obligations=2_000_00)
    result = recommended(engine, borrower(engine), need)
    assert [r.product_code for r in result.recommendations] == ["FIT-10", "FIT-12", "SMALL-MAX"]
    [left] = result.ineligible
    assert left.product_code == "NEAR-TERM"
    [reason] = left.reasons
    with Session(engine) as session:
        product = products.get_product(session, "NEAR-TERM")
    schedule = build_schedule(pricing.engine_terms(product, 20_000_00, 6, TODAY))
    monthly = -(-schedule.total_repayment // 6)
    debt = Decimal(2_000_00 + monthly) / Decimal(8_000_00)
    assert debt > Decimal("0.5")
    pay = (Decimal(monthly) / 8_000_00 * 100).quantize(Decimal(1))
    total = (debt * 100).quantize(Decimal(1))
    assert reason.code == "unaffordable"
    assert reason.zh == f"月供约占收入的{pay}%，连同其他还款共约{total}%，超过50%的上限"
    assert reason.en.endswith(f"about {total}%, above the 50% limit")
    fit12 = by_code(result)["FIT-12"]
    assert fit12.reasons[-1].zh == "月供约占收入的22%，连同其他还款共约47%，在50%的上限之内"
    assert fit12.debt_to_income == "0.4721"  # (2,000 + 1,776.98) / 8,000

    nothing = recommended(
        engine, borrower(engine, "li"), dataclasses.replace(NEED, monthly_income=0)
    )
    assert nothing.recommendations == []
    assert {(i.product_code, codes(i.reasons)[0]) for i in nothing.ineligible} == {
        (code, "no_income") for code in ("FIT-10", "FIT-12", "NEAR-TERM", "SMALL-MAX")
    }


@pytest.mark.usefixtures("catalogue")
def test_below_every_minimum_nothing_is_recommended(engine: Engine) -> None:
    result = recommended(engine, borrower(engine), dataclasses.replace(NEED, amount=500_00))
    assert result.recommendations == []
    assert [i.product_code for i in result.ineligible] == [
        "FIT-10",
        "FIT-12",
        "NEAR-TERM",
        "SMALL-MAX",
    ]
    reason = result.ineligible[0].reasons[0]
    assert reason.code == "below_minimum"
    assert (
        reason.en == "This product lends at least 1,000.00 yuan, more than the 500.00 yuan you need"
    )


@pytest.mark.usefixtures("catalogue")
def test_an_unverified_customer_is_told_to_verify_first(engine: Engine) -> None:
    result = recommended(engine, borrower(engine, "wang", verify=False), NEED)
    assert (result.ready_to_apply, result.kyc_level) == (False, "registered")
    assert len(result.recommendations) == 4
    for item in result.recommendations:
        assert item.reasons[0].code == "kyc"
        assert item.reasons[0].zh == "请先完成实名认证并绑定银行卡"
        assert item.reasons[0].en == "Complete identity verification and bind a card first"
    no_card = recommended(engine, borrower(engine, "li", card=False), NEED)
    assert (no_card.ready_to_apply, no_card.kyc_level) == (False, "identity_verified")
    assert codes(no_card.recommendations[0].reasons)[0] == "kyc"


@pytest.mark.usefixtures("catalogue")
def test_a_known_grade_prices_at_its_rate_capped_by_the_product(engine: Engine) -> None:
    user_id = borrower(engine)
    result = recommended(engine, user_id, NEED, grade="A")
    items = by_code(result)
    assert result.grade == "A"
    assert (items["FIT-12"].rate_percent, items["FIT-12"].rate_low_percent) == ("9.6", "9.6")
    assert items["NEAR-TERM"].rate_percent == "8"  # the product's rate is the ceiling
    assert items["FIT-12"].reasons[1].en == "At your credit grade A the annual rate is 9.6%"
    check_against_engine(engine, items["FIT-12"])
    graded_e = by_code(recommended(engine, user_id, NEED, grade="E"))
    assert graded_e["FIT-12"].rate_percent == "12"  # 23.9 % capped at the product's 12 %
    with pytest.raises(ValidationFailed) as refused:
        recommended(engine, user_id, NEED, grade="Z")
    assert [e.field for e in refused.value.errors] == ["grade"]


@pytest.mark.usefixtures("catalogue")
def test_retired_and_other_currency_products_are_not_candidates(engine: Engine) -> None:
    with Session(engine) as session:
        product_factory.saved(session, code="GONE", annual_rate_percent="6")
        products.retire_product(session, "GONE", system_actor("tests"))
        product_factory.saved(session, code="DOLLARS", currency="USD", annual_rate_percent="6")
        session.commit()
    result = recommended(engine, borrower(engine), NEED)
    listed = {r.product_code for r in result.recommendations} | {
        i.product_code for i in result.ineligible
    }
    assert listed == {"FIT-10", "FIT-12", "NEAR-TERM", "SMALL-MAX"}
    usd = recommended(engine, borrower(engine, "li"), dataclasses.replace(NEED, currency="USD"))
    assert [r.product_code for r in usd.recommendations] == ["DOLLARS"]


# --- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def zhang(app: FastAPI, engine: Engine, catalogue: None) -> tuple[uuid.UUID, TestClient]:
    user_id = borrower(engine)
    return user_id, client_for(app, engine, user_id)


def answer(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "purpose": "consumption",
        "amount": 20_000_00,
        "term_months": 12,
        "monthly_income": 20_000_00,
        "monthly_obligations": 1_000_00,
        "employment": "employed",
    }
    values.update(changes)
    return values


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_before_the_questionnaire_a_problem_names_what_is_missing(
    zhang: tuple[uuid.UUID, TestClient],
) -> None:
    user_id, me = zhang
    missing = problem(me.get(url(user_id)), 409)
    assert missing["code"] == "origination.needs_required"
    assert [e["field"] for e in missing["errors"]] == ["amount", "term"]
    assert "POST /v1/me/needs" in missing["detail"]
    only_amount = problem(me.get(url(user_id), params={"amount": 20_000_00}), 409)
    assert [e["field"] for e in only_amount["errors"]] == ["term"]
    # Both given: recommended, with affordability not checked (no income known).
    given = me.get(url(user_id), params={"amount": 20_000_00, "term": 12})
    assert given.status_code == 200, given.text
    body = given.json()
    assert body["need"]["monthly_income"] is None
    assert body["need"]["overridden"] == ["amount", "term"]
    first = body["recommendations"][0]
    assert first["product_code"] == "FIT-10"
    assert first["fit"] == {"amount": 50, "term": 30, "affordability": 0, "total": 80}
    assert first["payment_to_income"] is None
    assert codes(first["reasons"])[-1] == "affordability_unknown"


def test_the_latest_answer_is_used_and_the_query_overrides_it(
    zhang: tuple[uuid.UUID, TestClient],
) -> None:
    user_id, me = zhang
    assert me.post(NEEDS, json=answer(amount=5_000_00, term_months=6)).status_code == 201
    latest = me.post(NEEDS, json=answer())
    assert latest.status_code == 201
    shown = me.get(url(user_id))
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["need"]["needs_id"] == latest.json()["id"]
    assert (body["need"]["amount"], body["need"]["term_months"]) == (20_000_00, 12)
    assert [r["product_code"] for r in body["recommendations"]] == [
        "FIT-10",
        "FIT-12",
        "SMALL-MAX",
        "NEAR-TERM",
    ]
    fit12 = body["recommendations"][1]
    assert (fit12["monthly_payment"], fit12["total_repayment"]) == (177_698, 2_132_370)
    assert fit12["apr_percent"] == "11.9999"
    assert fit12["rate_percent"] == "12"

    overridden = me.get(url(user_id), params={"term": 6}).json()
    assert overridden["need"]["overridden"] == ["term"]
    assert overridden["need"]["monthly_income"] == 20_000_00
    assert [r["product_code"] for r in overridden["recommendations"]][:1] == ["NEAR-TERM"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 30_000_001}, "amount"),
        ({"term": 61}, "term"),
        ({"term": "twelve"}, "term"),
        ({"grade": "A"}, "query.grade"),  # the grade is not the caller's to choose
    ],
)
def test_bad_query_parameters_name_the_field(
    zhang: tuple[uuid.UUID, TestClient], params: dict[str, Any], field: str
) -> None:
    user_id, me = zhang
    refused = problem(me.get(url(user_id), params=params), 422)
    assert [e["field"] for e in refused["errors"]] == [field]


def test_only_the_customer_and_staff_reading_applications_see_them(
    app: FastAPI, engine: Engine, zhang: tuple[uuid.UUID, TestClient]
) -> None:
    user_id, me = zhang
    assert me.post(NEEDS, json=answer()).status_code == 201
    assert me.get(url(user_id)).status_code == 200

    other = client_for(app, engine, borrower(engine, "li"))
    assert problem(other.get(url(user_id)), 404)["code"] == "identity.user_not_found"
    # The same answer whether or not the customer exists or answered the questionnaire.
    assert problem(other.get(url(uuid.uuid4())), 404)["code"] == "identity.user_not_found"

    officer = staff_client(app, engine, "loan_officer")  # has applications.read
    seen = officer.get(url(user_id))
    assert seen.status_code == 200, seen.text
    assert seen.json() == me.get(url(user_id)).json()
    assert problem(officer.get(url(uuid.uuid4())), 404)["code"] == "identity.user_not_found"

    collector = staff_client(app, engine, "collector")  # no applications.read
    assert problem(collector.get(url(user_id)), 404)["code"] == "identity.user_not_found"
    assert TestClient(app, raise_server_exceptions=False).get(url(user_id)).status_code == 401


def test_without_an_active_policy_the_problem_says_so(app: FastAPI, engine: Engine) -> None:
    user_id = borrower(engine)
    me = client_for(app, engine, user_id)
    refused = problem(me.get(url(user_id), params={"amount": 20_000_00, "term": 12}), 409)
    assert refused["code"] == "decisions.no_active_policy"
