"""Two-phase holds: pending, then posted (fully or partly), voided or expired, each once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lendbridge.kit import clock
from lendbridge.kit.errors import IdempotencyConflict, ValidationFailed
from lendbridge.ledger import errors, service
from lendbridge.ledger.models import HoldStatus
from lendbridge.ledger.schemas import HoldIn, HoldPostIn
from tests.ledger import factories as f


@pytest.fixture
def funded(session):
    """A wallet holding 1,000.00 that may not overdraw."""
    f.basic_chart(session)
    f.transfer(session, "bank", "wallet", 100_000)
    session.commit()
    return session


def hold(session, amount=30_000, key=None, expires_at=None):
    return service.place_hold(
        session,
        HoldIn(
            debit_account="wallet",
            credit_account="bank",
            amount=amount,
            currency="CNY",
            expires_at=expires_at,
        ),
        idempotency_key=key,
    )


def test_pending_hold_reduces_available_not_posted_balance(funded):
    hold(funded)
    balance = service.balance(funded, "wallet")
    assert (balance.balance, balance.debits_pending, balance.available) == (100_000, 30_000, 70_000)


def test_hold_cannot_reserve_more_than_available(funded):
    hold(funded, 80_000)
    with pytest.raises(errors.BalanceLimitExceeded):
        hold(funded, 20_001)


def test_partial_post_books_the_amount_and_releases_the_rest(funded):
    h = hold(funded)
    posted = service.post_hold(funded, h.id, HoldPostIn(amount=12_000))
    funded.commit()
    assert posted.status == HoldStatus.POSTED
    assert posted.posted_amount == 12_000
    entry = service.get_entry(funded, posted.entry_id)
    assert entry.hold_id == h.id
    balance = service.balance(funded, "wallet")
    assert (balance.balance, balance.debits_pending, balance.available) == (88_000, 0, 88_000)


def test_post_more_than_pending_is_refused(funded):
    h = hold(funded)
    with pytest.raises(errors.HoldAmountExceeded) as caught:
        service.post_hold(funded, h.id, HoldPostIn(amount=30_001))
    assert caught.value.errors[0].field == "amount"


def test_each_resolution_happens_at_most_once(funded):
    h = hold(funded)
    posted = service.post_hold(funded, h.id)
    funded.commit()
    assert service.post_hold(funded, h.id) == posted  # the same request again: same answer
    with pytest.raises(errors.HoldNotPending):
        service.post_hold(funded, h.id, HoldPostIn(amount=1))
    with pytest.raises(errors.HoldNotPending):
        service.void_hold(funded, h.id)
    assert service.balance(funded, "wallet").balance == 70_000


def test_void_releases_and_cannot_then_post(funded):
    h = hold(funded)
    voided = service.void_hold(funded, h.id)
    funded.commit()
    assert voided.status == HoldStatus.VOIDED
    assert service.void_hold(funded, h.id) == voided
    with pytest.raises(errors.HoldNotPending):
        service.post_hold(funded, h.id)
    assert service.balance(funded, "wallet").available == 100_000


def test_expired_holds_are_released_by_the_expiry_job_and_cannot_be_posted(funded):
    start = clock.now()
    h = hold(funded, expires_at=start + dt.timedelta(minutes=5))
    funded.commit()
    later = start + dt.timedelta(minutes=6)
    with clock.use_clock(clock.fixed(later)):
        with pytest.raises(errors.HoldNotPending, match="expired"):
            service.post_hold(funded, h.id)
        funded.rollback()
        assert service.expire_holds(funded) == 1
        funded.commit()
        assert service.expire_holds(funded) == 0
    assert service.get_hold(funded, h.id).status == HoldStatus.EXPIRED
    assert service.balance(funded, "wallet").available == 100_000


def test_hold_expiry_must_be_in_the_future(funded):
    with pytest.raises(ValidationFailed):
        hold(funded, expires_at=clock.now() - dt.timedelta(seconds=1))


def test_hold_idempotency(funded):
    first = hold(funded, key="h-1")
    funded.commit()
    assert hold(funded, key="h-1") == first
    with pytest.raises(IdempotencyConflict):
        hold(funded, amount=1, key="h-1")


def test_unknown_hold_is_not_found(funded):
    with pytest.raises(errors.HoldNotFound):
        service.post_hold(funded, uuid.uuid4())
