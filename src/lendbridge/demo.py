"""Demo data on top of the standard chart: a few weeks of a small lender's life.

Every write goes through the ledger's service layer under an idempotency key starting with
``demo:``, so loading the demo twice writes nothing the second time. Dates are anchored to the
business date of the first load (recovered from the first demo entry on later loads), so the
demo replays identically on any later day.

To extend the demo, write a function ``def step(book: DemoBook) -> None`` and append it to
``STEPS``; use new idempotency keys, and never change what an existing step posts (a changed
request under an old key is refused as an idempotency conflict).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.ledger import service
from lendbridge.ledger.chart import STANDARD_CHART
from lendbridge.ledger.models import AccountType, Entry, Side
from lendbridge.ledger.schemas import AccountIn, EntryIn, HoldIn, HoldPostIn, PostingIn, ReverseIn
from lendbridge.products.demo import load_products_demo

KEY_PREFIX = "demo:"
ANCHOR_KEY = "demo:capital-injection"
ANCHOR_DAYS_BEFORE = 28

# Chart codes the demo uses, named for readability.
BANK_A, BANK_B, BANK_USD = "1002.001", "1002.002", "1002.101"
FEE_RECEIVABLE, INTEREST_RECEIVABLE, PENALTY_RECEIVABLE = "1122.001", "1132.001", "1132.002"
PRINCIPAL, PROVISION = "1303.001", "1304.001"
CUSTOMERS, INVESTORS = "2241.001", "2241.002"
CLEARING_A, CLEARING_B = "3001.001", "3001.002"
FX_CNY, FX_USD = "3002.CNY", "3002.USD"
CAPITAL = "4001.001"
INTEREST_INCOME, PENALTY_INCOME, FEE_INCOME = "6011.001", "6011.002", "6021.001"
PROVISION_EXPENSE, WRITE_OFF_EXPENSE = "6702.001", "6702.002"


_CHART_CURRENCY = {a.code: a.currency for a in STANDARD_CHART}


def yuan(amount: str) -> int:
    """Minor units (fen) from a decimal string of yuan, exactly."""
    fen = Decimal(amount) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(fen)


Line = tuple[str, Side, int]


def dr(account: str, amount: str) -> Line:
    return (account, Side.DEBIT, yuan(amount))


def cr(account: str, amount: str) -> Line:
    return (account, Side.CREDIT, yuan(amount))


@dataclass
class DemoBook:
    """What a step needs: the session, the anchor date, and helpers that call the services
    with demo idempotency keys."""

    session: Session
    anchor: dt.date

    def day(self, days_before: int) -> dt.date:
        return self.anchor - dt.timedelta(days=days_before)

    def open(self, code: str, name: str, type_: AccountType, *, owner: tuple[str, str]) -> None:
        """A party's own sub-account; money owed to a party may never go negative."""
        service.open_account(
            self.session,
            AccountIn(
                code=code,
                name=name,
                type=type_,
                currency="CNY",
                owner_type=owner[0],
                owner_id=owner[1],
                min_balance=0,
            ),
        )

    def post(
        self, key: str, days_before: int, description: str, *lines: Line, event: str
    ) -> uuid.UUID:
        out = service.post_entry(
            self.session,
            EntryIn(
                postings=[
                    PostingIn(account=a, side=s, amount=n, currency=self._currency(a))
                    for a, s, n in lines
                ],
                effective_date=self.day(days_before),
                description=description,
                event_type=event,
                event_id=key,
            ),
            idempotency_key=KEY_PREFIX + key,
        )
        return out.id

    def reverse(self, key: str, days_before: int, original_key: str, why: str) -> None:
        original = self.session.scalar(
            select(Entry.id).where(Entry.idempotency_key == KEY_PREFIX + original_key)
        )
        if original is None:
            raise RuntimeError(f"demo step order: {original_key} is not posted yet")
        service.reverse_entry(
            self.session,
            original,
            ReverseIn(effective_date=self.day(days_before), description=why),
            idempotency_key=KEY_PREFIX + key,
        )

    def hold(self, key: str, debit: str, credit: str, amount: str, description: str) -> uuid.UUID:
        out = service.place_hold(
            self.session,
            HoldIn(
                debit_account=debit,
                credit_account=credit,
                amount=yuan(amount),
                currency="CNY",
                description=description,
                event_type="demo.hold",
                event_id=key,
            ),
            idempotency_key=KEY_PREFIX + key,
        )
        return out.id

    def _currency(self, code: str) -> str:
        # Party sub-accounts the demo opens are all in yuan.
        return _CHART_CURRENCY.get(code, "CNY")


# --- the steps, in order --------------------------------------------------------------------


def capital_injection(book: DemoBook) -> None:
    book.post(
        "capital-injection",
        ANCHOR_DAYS_BEFORE,
        "Shareholders pay in registered capital / 股东实缴注册资本",
        dr(BANK_A, "5000000.00"),
        cr(CAPITAL, "5000000.00"),
        event="treasury.capital_injection",
    )


def open_parties(book: DemoBook) -> None:
    for customer, name in (("C0001", "Zhang Wei"), ("C0002", "Li Na"), ("C0003", "Wang Fang")):
        book.open(
            f"{CUSTOMERS}.{customer}",
            f"Customer balance {customer} {name} / 客户余额",
            AccountType.LIABILITY,
            owner=("customer", customer),
        )
    book.open(
        f"{INVESTORS}.I0001",
        "Investor balance I0001 / 出借人余额",
        AccountType.LIABILITY,
        owner=("investor", "I0001"),
    )


def investor_deposit(book: DemoBook) -> None:
    book.post(
        "investor-deposit-I0001",
        27,
        "Investor I0001 funds their account via channel B / 出借人充值",
        dr(CLEARING_B, "200000.00"),
        cr(f"{INVESTORS}.I0001", "200000.00"),
        event="payments.deposit",
    )


def customer_top_up(book: DemoBook) -> None:
    book.post(
        "top-up-C0001",
        26,
        "Customer C0001 tops up via channel A / 客户充值",
        dr(CLEARING_A, "800.00"),
        cr(f"{CUSTOMERS}.C0001", "800.00"),
        event="payments.deposit",
    )


def settle_channels(book: DemoBook) -> None:
    book.post(
        "settlement-25",
        25,
        "Channels settle to the bank accounts / 渠道资金结算入账",
        dr(BANK_A, "800.00"),
        cr(CLEARING_A, "800.00"),
        dr(BANK_B, "200000.00"),
        cr(CLEARING_B, "200000.00"),
        event="payments.settlement",
    )


def disbursements(book: DemoBook) -> None:
    book.post(
        "disburse-L0001",
        24,
        "Disburse loan L0001 to C0001, upfront fee 2% / 放款",
        dr(PRINCIPAL, "10000.00"),
        cr(BANK_A, "10000.00"),
        dr(FEE_RECEIVABLE, "200.00"),
        cr(FEE_INCOME, "200.00"),
        event="servicing.disbursement",
    )
    book.post(
        "disburse-L0002",
        23,
        "Disburse loan L0002 to C0002 / 放款",
        dr(PRINCIPAL, "20000.00"),
        cr(BANK_B, "20000.00"),
        event="servicing.disbursement",
    )
    book.post(
        "disburse-L0003",
        22,
        "Disburse loan L0003 to C0003 / 放款",
        dr(PRINCIPAL, "1000.00"),
        cr(BANK_A, "1000.00"),
        event="servicing.disbursement",
    )


def interest_accrual(book: DemoBook) -> None:
    book.post(
        "accrual-14",
        14,
        "Interest accrued on L0001 and L0002 / 计提利息",
        dr(INTEREST_RECEIVABLE, "150.00"),
        cr(INTEREST_INCOME, "150.00"),
        dr(INTEREST_RECEIVABLE, "300.00"),
        cr(INTEREST_INCOME, "300.00"),
        event="servicing.interest_accrual",
    )


def repayment_from_balance(book: DemoBook) -> None:
    """Repayment authorised from the customer's balance: a hold, then posted."""
    hold_id = book.hold(
        "repay-hold-C0001",
        f"{CUSTOMERS}.C0001",
        FEE_RECEIVABLE,
        "200.00",
        "C0001 pays the L0001 fee from balance / 余额还款",
    )
    service.post_hold(book.session, hold_id, HoldPostIn(effective_date=book.day(12)))
    hold_id = book.hold(
        "repay-interest-hold-C0001",
        f"{CUSTOMERS}.C0001",
        INTEREST_RECEIVABLE,
        "150.00",
        "C0001 pays L0001 interest from balance / 余额还款",
    )
    service.post_hold(book.session, hold_id, HoldPostIn(effective_date=book.day(12)))


def voided_withdrawal(book: DemoBook) -> None:
    """A withdrawal reserved, then released because the bank refused the card."""
    hold_id = book.hold(
        "withdraw-hold-C0001",
        f"{CUSTOMERS}.C0001",
        CLEARING_A,
        "100.00",
        "C0001 withdraws to bank card; card refused, released / 提现失败解冻",
    )
    service.void_hold(book.session, hold_id)


def channel_repayment(book: DemoBook) -> None:
    book.post(
        "repay-L0002-1",
        10,
        "C0002 repays L0002 instalment 1 via channel B / 渠道还款",
        dr(CLEARING_B, "2300.00"),
        cr(PRINCIPAL, "2000.00"),
        cr(INTEREST_RECEIVABLE, "300.00"),
        event="servicing.repayment",
    )
    book.post(
        "settlement-9",
        9,
        "Channel B settles / 渠道资金结算入账",
        dr(BANK_B, "2300.00"),
        cr(CLEARING_B, "2300.00"),
        event="payments.settlement",
    )


def penalty_and_fee_correction(book: DemoBook) -> None:
    book.post(
        "penalty-L0003",
        8,
        "Penalty interest on overdue L0003 / 逾期罚息",
        dr(PENALTY_RECEIVABLE, "12.34"),
        cr(PENALTY_INCOME, "12.34"),
        event="servicing.penalty_accrual",
    )
    book.post(
        "late-fee-L0001",
        7,
        "Late fee on L0001 / 逾期手续费",
        dr(FEE_RECEIVABLE, "50.00"),
        cr(FEE_INCOME, "50.00"),
        event="servicing.fee",
    )
    book.reverse(
        "late-fee-L0001-reversal",
        6,
        "late-fee-L0001",
        "Late fee charged in error: L0001 was paid on time / 冲正误收费用",
    )


def provision_and_write_off(book: DemoBook) -> None:
    book.post(
        "provision-5",
        5,
        "Loan-loss provision for overdue L0003 / 计提贷款损失准备",
        dr(PROVISION_EXPENSE, "300.00"),
        cr(PROVISION, "300.00"),
        event="servicing.provision",
    )
    book.post(
        "write-off-L0003",
        3,
        "Write off L0003 against its provision / 贷款核销",
        dr(PROVISION, "300.00"),
        dr(WRITE_OFF_EXPENSE, "700.00"),
        cr(PRINCIPAL, "1000.00"),
        event="servicing.write_off",
    )


def fx_conversion(book: DemoBook) -> None:
    service.convert_currency(
        book.session,
        source_account=BANK_A,
        target_account=BANK_USD,
        source_amount=yuan("70000.00"),
        rate=Decimal("0.1385"),
        source_fx_account=FX_CNY,
        target_fx_account=FX_USD,
        effective_date=book.day(2),
        description="Buy USD for a cross-border funding partner / 购汇",
        idempotency_key=KEY_PREFIX + "fx-usd-purchase",
    )


Step = Callable[[DemoBook], None]

STEPS: list[Step] = [
    capital_injection,
    open_parties,
    investor_deposit,
    customer_top_up,
    settle_channels,
    disbursements,
    interest_accrual,
    repayment_from_balance,
    voided_withdrawal,
    channel_repayment,
    penalty_and_fee_correction,
    provision_and_write_off,
    fx_conversion,
]


def demo_anchor(session: Session) -> dt.date:
    """The business date of the first demo load (today's on a first load)."""
    first = session.scalar(select(Entry.effective_date).where(Entry.idempotency_key == ANCHOR_KEY))
    if first is not None:
        return first + dt.timedelta(days=ANCHOR_DAYS_BEFORE)
    return calendar.business_date(session)


def load_demo(session: Session, steps: list[Step] | None = None) -> int:
    """Run the demo steps (the standard chart must be loaded); returns how many ran."""
    book = DemoBook(session, demo_anchor(session))
    chosen = STEPS if steps is None else steps
    for step in chosen:
        step(book)
    load_products_demo(session)
    session.flush()
    return len(chosen)
