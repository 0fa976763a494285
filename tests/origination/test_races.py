"""Races with real threads on PostgreSQL: a borrower's applications sent at once are decided
one after the other (one offer; the others find it open, or — with the same key — are that
same application), and one offer signed twice at once makes one loan."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from lendbridge.decisions.models import CreditDecision
from lendbridge.origination.models import LoanApplication
from lendbridge.servicing.models import Loan
from tests.origination.conftest import Desk
from tests.origination.test_applications import GRADE_A
from tests.servicing.test_races import race

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock races need PostgreSQL")


def count(desk: Desk, model: type) -> int:
    return int(desk.book.run(lambda s: s.scalar(select(func.count()).select_from(model))) or 0)


def test_applications_at_once_make_one_offer(desk: Desk) -> None:
    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    outcomes = race(6, [lambda k=k: desk.apply(me, body, key=f"k{k}") for k in range(6)])
    assert outcomes == {"ok": 1, "origination.application_open": 5}
    assert count(desk, LoanApplication) == count(desk, CreditDecision) == 1


def test_one_key_at_once_is_one_application(desk: Desk) -> None:
    me = desk.borrower()
    body = desk.body(desk.features_scoring(*GRADE_A))
    ids: list[object] = []
    outcomes = race(6, [lambda: ids.append(desk.apply(me, body, key="same").id) for _ in range(6)])
    assert outcomes == {"ok": 6}
    assert len(set(ids)) == 1
    assert count(desk, LoanApplication) == 1


def test_one_offer_signed_twice_at_once_makes_one_loan(desk: Desk) -> None:
    me = desk.borrower()
    application = desk.apply(me, desk.body(desk.features_scoring(*GRADE_A)))
    code = desk.code(me)
    outcomes = race(
        4, [lambda k=k: desk.sign(me, application.id, code, key=f"s{k}") for k in range(4)]
    )
    assert outcomes["ok"] == 1
    assert sum(outcomes.values()) == 4  # the others: already signed (or the code used up)
    assert set(outcomes) <= {"ok", "origination.already_signed", "identity.one_time_code_rejected"}
    assert count(desk, Loan) == 1
