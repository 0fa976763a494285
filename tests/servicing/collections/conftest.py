"""Collections fixtures: the loans ``Book`` of tests/servicing, the SMS provider reminders
go through (a development provider that records messages), signed debit authorisations, and
the close of business with the collections steps."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity import consents
from lendbridge.identity.kyc_models import BankCard
from lendbridge.identity.models import User
from lendbridge.kit.actor import Actor
from lendbridge.kit.notify import DevelopmentSms
from lendbridge.servicing.cob import collection, runner, steps  # noqa: F401  (registers them)
from lendbridge.servicing.collections import notifications
from lendbridge.servicing.collections.customers import DEBIT_AUTHORISATION
from tests.servicing.conftest import Book


@pytest.fixture(autouse=True)
def sms() -> Iterator[DevelopmentSms]:
    """Every collections test sends reminders here, never to a file or a gateway."""
    provider = DevelopmentSms()
    previous = notifications.configure(provider)
    yield provider
    notifications.configure(previous)


def authorise(book: Book, customer: uuid.UUID) -> str:
    """The customer signs the debit authorisation (代扣协议); returns its reference."""

    def sign(session: Session) -> str:
        consents.seed_agreements(session)
        agreement = consents.get_agreement(session, DEBIT_AUTHORISATION)
        consent = consents.accept(
            session,
            Actor(user_id=str(customer), roles=("borrower",)),
            agreement.code,
            agreement.version,
        )
        return f"consent:{consent.id}"

    return book.run(sign)  # type: ignore[no-any-return]


def unbind_cards(book: Book, customer: uuid.UUID) -> None:
    def unbind(session: Session) -> None:
        for card in session.scalars(select(BankCard).where(BankCard.user_id == customer)):
            card.status = "unbound"

    book.run(unbind)


def phone_of(book: Book, customer: uuid.UUID) -> str:
    return book.run(lambda s: s.get(User, customer).phone)  # type: ignore[no-any-return]


def cob_steps(
    collect: runner.StepFn = collection.collection,
    remind: runner.StepFn = collection.remind,
) -> list[runner.Step]:
    """The close of business: the loan steps collections build on (accrual, delinquency,
    penalty, provisions: whatever ``steps.py`` registers before position 50), then the
    collections steps."""
    before = [s for s in runner.registered_steps() if s.position < collection.POSITION]
    return [
        *before,
        runner.Step(name="loans.collect", position=50, run=collect),
        runner.Step(name="loans.promises", position=55, run=collection.promises),
        runner.Step(name="loans.remind", position=60, run=remind),
    ]


def close(book: Book, to: dt.date, *, batch_size: int = 2, **kw: runner.StepFn) -> None:
    runner.run_cob(book.factory, to, steps=cob_steps(**kw), batch_size=batch_size)


def context(book: Book, day: dt.date, batch_size: int = 2) -> runner.StepContext:
    """A step's context for closing ``day`` again by hand."""
    return runner.StepContext(
        factory=book.factory,
        business_date=day,
        batch_size=batch_size,
        renew=lambda: None,
        progress=runner.StepResult(),
    )
