"""The check decisioning runs: a customer is found on the risk list by their verified
resident id, their phone or any bank card they bound, in one query; removed entries and
other people's values do not count."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from lendbridge.identity.kyc_models import BankCard
from lendbridge.kit import clock, crypto
from lendbridge.kit.actor import system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.risklist import service
from lendbridge.risklist.errors import AlreadyListed
from lendbridge.risklist.models import RiskListKind, RiskListSource
from tests.risklist.conftest import LI, LI_CARD, ZHANG, ZHANG_CARD, Borrower

OFFICER = system_actor("risk-officer")


def add(session: Session, kind: RiskListKind, value: str, reason: str = "fraud") -> str:
    entry = service.add(
        session, OFFICER, kind=kind, value=value, reason=reason, source=RiskListSource.MANUAL
    )
    return str(entry.id)


def hits(engine: Engine, customer: Borrower) -> list[tuple[str, str, str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", count)
        try:
            found = service.listed_for_customer(session, customer.user_id)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 1, statements
    return [(h.kind.value, h.value_masked, str(h.entry_id)) for h in found]


def test_found_by_resident_id_phone_and_bound_card(
    engine: Engine, borrower: Callable[..., Borrower]
) -> None:
    zhang = borrower("13911112222", ZHANG, ZHANG_CARD)
    li = borrower("13933334444", LI, LI_CARD)
    nobody = borrower("13955556666")
    assert hits(engine, zhang) == []
    with Session(engine) as session:
        by_id = add(session, RiskListKind.RESIDENT_ID, "110105199003071239")
        by_phone = add(session, RiskListKind.PHONE, "+86 139 1111 2222")
        by_card = add(session, RiskListKind.BANK_CARD, LI_CARD["card_number"])
        add(session, RiskListKind.PHONE, "13800000009")  # nobody's
        session.commit()
    assert sorted(hits(engine, zhang)) == sorted(
        [
            ("resident_id", "110105********1239", by_id),
            ("phone", "139****2222", by_phone),
        ]
    )
    assert hits(engine, li) == [("bank_card", "621700*********6783", by_card)]
    assert hits(engine, nobody) == []


def test_removed_entries_are_ignored_and_relisting_counts(
    engine: Engine, borrower: Callable[..., Borrower]
) -> None:
    zhang = borrower("13911112222", ZHANG, ZHANG_CARD)
    with Session(engine) as session:
        first = add(session, RiskListKind.BANK_CARD, ZHANG_CARD["card_number"])
        session.commit()
    assert [h[0] for h in hits(engine, zhang)] == ["bank_card"]
    with Session(engine) as session:
        service.remove(
            session, OFFICER, uuid.UUID(first), reason="card reported stolen, not the holder's"
        )
        session.commit()
    assert hits(engine, zhang) == []
    with Session(engine) as session:
        again = add(session, RiskListKind.BANK_CARD, ZHANG_CARD["card_number"], "fraud again")
        session.commit()
    assert hits(engine, zhang) == [("bank_card", "622202*********5670", again)]


def test_a_card_unbound_since_still_counts(
    engine: Engine, borrower: Callable[..., Borrower]
) -> None:
    """A card the customer has replaced was still theirs: the check covers every card."""
    zhang = borrower("13911112222", ZHANG, ZHANG_CARD)
    with Session(engine) as session:
        card = session.scalars(select(BankCard).where(BankCard.user_id == zhang.user_id)).one()
        card.status, card.unbound_at = "unbound", clock.now()
        add(session, RiskListKind.BANK_CARD, ZHANG_CARD["card_number"])
        session.commit()
    assert [h[0] for h in hits(engine, zhang)] == ["bank_card"]


def test_listing_a_value_does_not_touch_other_kinds(engine: Engine) -> None:
    """The same digits under another kind are another value (a phone is no card)."""
    with Session(engine) as session:
        add(session, RiskListKind.PHONE, "13800000009")
        session.commit()
        page = service.listing(session, kind=RiskListKind.BANK_CARD)
    assert page.items == []


@pytest.fixture
def keyring() -> Iterator[None]:
    """The run's keyring (the application installs it; this test builds no application)."""
    previous = crypto.configure(Keyring.from_env(os.environ[crypto.MASTER_KEYS_ENV]))
    yield
    crypto.configure(previous)


def test_two_adds_racing_end_in_one_entry_and_a_conflict(pg_engine: Engine, keyring: None) -> None:
    """PostgreSQL: the second add passes the look-up before the first commits, then waits on
    the partial unique index and is answered as a duplicate naming the field."""
    outcome: list[BaseException] = []
    first = Session(pg_engine)
    first_id = add(first, RiskListKind.PHONE, "13800000009")  # flushed, not committed

    def second() -> None:
        with Session(pg_engine) as session:
            try:
                add(session, RiskListKind.PHONE, "13800000009", "the same, from another desk")
                session.commit()
            except AlreadyListed as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()  # waiting on the index entry of the uncommitted row
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, AlreadyListed)
    assert error.errors[0].field == "value"
    assert first_id in error.errors[0].message
    with Session(pg_engine) as session:
        assert len(service.listing(session).items) == 1
