"""Origination test fixtures: the loans world of ``tests/servicing`` (payments on the
scripted channel ``sim``, product LOAN-EI, verified borrowers) plus the German credit
champion, the default decision policy, and an ``Desk`` that applies, signs and reviews
through the real services, the way the endpoints do (each call its own transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.decisions.policies import ensure_default_policy
from lendbridge.identity import codes
from lendbridge.identity.models import User
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.origination import applications, review, signing, views
from lendbridge.origination.demo import german_profiles
from lendbridge.origination.models import LoanApplication
from lendbridge.origination.schemas import ApplicationIn, ApplicationReviewOut, ApproveIn, DeclineIn
from lendbridge.scoring import registry, service
from lendbridge.scoring.demo import demo_training
from lendbridge.scoring.loaded import LoadedModel
from tests.payments.conftest import payments
from tests.servicing.conftest import Book, book

SYSTEM = system_actor("tests")
OFFICER = Actor(
    user_id="officer.chen",
    roles=("loan_officer",),
    permissions=frozenset({"applications.read", "applications.review"}),
)


@dataclass
class Desk:
    book: Book
    model: LoadedModel

    def borrower(self, who: str = "zhang", **kw: Any) -> Actor:
        customer = self.book.customer(who, **kw)
        return Actor(user_id=str(customer), roles=("borrower",))

    def features_scoring(
        self, low: int, high: int, *, amount: int = 10_000_00, term: int = 12, age: int = 35
    ) -> dict[str, int | str]:
        """Features of a German applicant whose score, with this amount, term and age, lies
        in [low, high)."""
        derived = {"credit_amount": amount // 100, "duration_in_month": term, "age_in_years": age}
        for features in german_profiles():
            if low <= self.model.score({**features, **derived}).score < high:
                return dict(features)
        raise AssertionError(f"no German applicant scores in [{low}, {high})")

    def body(self, features: dict[str, int | str], **changes: Any) -> ApplicationIn:
        values: dict[str, Any] = {
            "product_code": "LOAN-EI",
            "amount": 10_000_00,
            "term": 12,
            "purpose": "consumption",
            "employment": "employed",
            "monthly_income": 15_000_00,
            "declared_monthly_obligations": 0,
            "features": features,
        }
        values.update(changes)
        return ApplicationIn.model_validate(values)

    def apply(self, actor: Actor, body: ApplicationIn, key: str | None = None) -> LoanApplication:
        assert actor.user_id is not None
        customer = uuid.UUID(actor.user_id)
        row, _ = self.book.run(
            lambda s: applications.submit(
                s, customer, body, idempotency_key=key or uuid.uuid4().hex, actor=actor
            )
        )
        return row  # type: ignore[no-any-return]

    def code(self, actor: Actor) -> str:
        def issue(session: Session) -> str:
            user = session.get(User, uuid.UUID(str(actor.user_id)))
            assert user is not None
            assert user.phone_index is not None
            return codes.issue(session, phone_index=user.phone_index, purpose="sign_contract")

        return self.book.run(issue)  # type: ignore[no-any-return]

    def sign(
        self, actor: Actor, application_id: uuid.UUID, code: str, key: str = "sign-1"
    ) -> LoanApplication:
        customer = uuid.UUID(str(actor.user_id))

        def run(session: Session) -> LoanApplication:
            row, _ = signing.sign(
                session, application_id, customer, code, idempotency_key=key, actor=actor
            )
            return row

        return self.book.run(run)  # type: ignore[no-any-return]

    def approve(self, application_id: uuid.UUID, **body: Any) -> LoanApplication:
        request = ApproveIn.model_validate({"note": "income documents checked", **body})
        return self.book.run(  # type: ignore[no-any-return]
            lambda s: review.approve(s, application_id, request, OFFICER)
        )

    def decline(self, application_id: uuid.UUID) -> LoanApplication:
        request = DeclineIn(
            reason_zh="收入证明无法核实", reason_en="The income could not be verified"
        )
        return self.book.run(  # type: ignore[no-any-return]
            lambda s: review.decline(s, application_id, request, OFFICER)
        )

    def get(self, application_id: uuid.UUID) -> ApplicationReviewOut:
        return self.book.run(  # type: ignore[no-any-return]
            lambda s: views.review_out(s, applications.load(s, application_id))
        )


@pytest.fixture
def desk(book: Book, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("LENDBRIDGE_DISBURSEMENT_CHANNEL", "sim")
    get_settings.cache_clear()

    def setup(session: Session) -> LoadedModel:
        ensure_default_policy(session, SYSTEM)
        trained = service.register_run(session, demo_training(), name="german", actor=SYSTEM)
        card = next(m for m in trained.models if m.family == "scorecard")
        registry.make_champion(session, card.id, SYSTEM)
        return registry.champion(session)

    model = book.run(setup)
    yield Desk(book, model)
    get_settings.cache_clear()


__all__ = ["Desk", "book", "payments"]
