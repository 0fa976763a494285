"""Property tests: random sequences of ledger operations against a plain model of balances.

After every sequence: balances equal the model, no limited account is below its floor, total
debits equal total credits, cached account totals equal the sums of their postings, and each
statement's last running balance equals the balance."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, func, select

from lendbridge.kit.errors import DomainError
from lendbridge.ledger import service
from lendbridge.ledger.models import Account, AccountType, Posting
from lendbridge.ledger.schemas import HoldIn, HoldPostIn
from tests.ledger import factories as f

N_WALLETS = 3
amounts = st.integers(min_value=1, max_value=5_000)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("transfer"), st.integers(0, N_WALLETS), st.integers(0, N_WALLETS), amounts
        ),
        st.tuples(st.just("hold"), st.integers(1, N_WALLETS), st.integers(0, N_WALLETS), amounts),
        st.tuples(st.just("post"), st.integers(0, 9), st.integers(1, 100), st.just(0)),
        st.tuples(st.just("void"), st.integers(0, 9), st.just(0), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(0, 9), st.just(0), st.just(0)),
    ),
    max_size=25,
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_operations_keep_the_books(session, ops):
    prefix = uuid.uuid4().hex[:8]
    codes = [f"{prefix}-bank"] + [f"{prefix}-w{i}" for i in range(N_WALLETS)]
    f.account(session, codes[0], AccountType.ASSET)
    for code in codes[1:]:
        f.account(session, code, AccountType.LIABILITY, min_balance=0)
    session.commit()
    # Model: balances in each account's normal direction and pending debits of each wallet.
    balance = dict.fromkeys(codes, 0)
    pending = dict.fromkeys(codes, 0)
    holds: list[tuple[uuid.UUID, str, str, int, str]] = []
    entries: list[tuple[uuid.UUID, str, str, int, bool]] = []

    def move(debit: str, credit: str, amount: int) -> None:
        # bank is debit-normal (asset); wallets are credit-normal (liabilities)
        balance[debit] += amount if debit == codes[0] else -amount
        balance[credit] += -amount if credit == codes[0] else amount

    def affordable(debit: str, amount: int) -> bool:
        return debit == codes[0] or balance[debit] - pending[debit] - amount >= 0

    for op, a, b, amount in ops:
        try:
            if op == "transfer" and a != b:
                debit, credit = codes[a], codes[b]
                ok = affordable(debit, amount)
                try:
                    out = f.transfer(session, debit, credit, amount)
                except DomainError:
                    assert not ok
                    session.rollback()
                    continue
                assert ok
                move(debit, credit, amount)
                entries.append((out.id, debit, credit, amount, False))
            elif op == "hold" and a != b:
                debit, credit = codes[a], codes[b]
                ok = affordable(debit, amount)
                try:
                    h = service.place_hold(
                        session,
                        HoldIn(
                            debit_account=debit,
                            credit_account=credit,
                            amount=amount,
                            currency="CNY",
                        ),
                    )
                except DomainError:
                    assert not ok
                    session.rollback()
                    continue
                assert ok
                pending[debit] += amount
                holds.append((h.id, debit, credit, amount, "pending"))
            elif op == "post" and a < len(holds) and holds[a][4] == "pending":
                hold_id, debit, credit, held, _ = holds[a]
                part = max(1, held * b // 100)
                out = service.post_hold(session, hold_id, HoldPostIn(amount=part))
                pending[debit] -= held
                move(debit, credit, part)
                holds[a] = (hold_id, debit, credit, held, "posted")
                assert out.entry_id is not None
                entries.append((out.entry_id, debit, credit, part, False))
            elif op == "void" and a < len(holds) and holds[a][4] == "pending":
                hold_id, debit, credit, held, _ = holds[a]
                service.void_hold(session, hold_id)
                pending[debit] -= held
                holds[a] = (hold_id, debit, credit, held, "voided")
            elif op == "reverse" and a < len(entries) and not entries[a][4]:
                entry_id, debit, credit, amount_, _ = entries[a]
                ok = affordable(credit, amount_)
                try:
                    service.reverse_entry(session, entry_id)
                except DomainError:
                    assert not ok
                    session.rollback()
                    continue
                assert ok
                move(credit, debit, amount_)
                entries[a] = (entry_id, debit, credit, amount_, True)
            session.commit()
        except Exception:
            session.rollback()
            raise

    for code in codes:
        read = service.balance(session, code)
        assert read.balance == balance[code], code
        if code != codes[0]:
            assert read.available == balance[code] - pending[code] >= 0
        page = service.statement(session, code, limit=500)
        if page.lines:
            assert page.lines[-1].balance_after == balance[code]
    assert_books_balance(session)


def assert_books_balance(session) -> None:
    signed = case((Posting.side == "debit", Posting.amount), else_=-Posting.amount)
    assert session.scalar(select(func.coalesce(func.sum(signed), 0))) == 0
    recomputed = dict(
        session.execute(
            select(
                Posting.account_id,
                func.sum(case((Posting.side == "debit", Posting.amount), else_=0))
                - func.sum(case((Posting.side == "credit", Posting.amount), else_=0)),
            ).group_by(Posting.account_id)
        ).all()
    )
    for account_id, debits, credits in session.execute(
        select(Account.id, Account.debits_posted, Account.credits_posted)
    ):
        assert debits - credits == recomputed.get(account_id, 0)
    assert all(t.balanced for t in service.trial_balance(session).totals)
