"""The payments part of the demo: a channel on the simulated gateway and a few orders that
the server sends when it starts (``lendbridge serve --gateway`` runs the gateway beside it).

The gateway's demo faults decide each order's fate by the party's account number, so the
demo always shows the same outcomes: payouts and a disbursement that succeed, a collection
that succeeds, one payout refused for insufficient funds, and one the bank keeps
"processing" (it stays submitted, its hold in place, until staff resolve it).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from lendbridge.kit.actor import system_actor
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import AccountType, Side
from lendbridge.ledger.schemas import AccountIn, EntryIn, PostingIn
from lendbridge.payments import channel_config, orders
from lendbridge.payments.gateway.faults import Action, FaultConfig
from lendbridge.payments.models import OrderKind, PaymentChannel
from lendbridge.payments.schemas import ChannelIn, OrderIn, PartyIn

CHANNEL = "simbank"
SECRET_ENV = "LENDBRIDGE_SIMBANK_SECRET"  # noqa: S105 - the variable's name, not a secret
GATEWAY_PORT = 8900
MERCHANT = "M0001"
INVESTOR = "2241.002.demo-investor"
CUSTOMER = "2241.001.demo-customer"
ACTOR = system_actor("demo")

REFUSED_ACCOUNT = "6222020000000000001"  # insufficient funds at the bank
PENDING_ACCOUNT = "6222020000000000002"  # the bank never finishes it
DEMO_FAULTS = FaultConfig(
    latency_ms=30,
    jitter_ms=40,
    callback_delay_ms=(200, 1_500),
    by_account={REFUSED_ACCOUNT: Action.INSUFFICIENT_FUNDS, PENDING_ACCOUNT: Action.HOLD},
)

CHANNEL_CONFIG = ChannelIn(
    name=CHANNEL,
    display_name="Simulated bank (demo) / 模拟银行",
    adapter="simulated",
    base_url=f"http://127.0.0.1:{GATEWAY_PORT}",
    merchant_id=MERCHANT,
    secret_env=SECRET_ENV,
    clearing_account="3001.001",
    settlement_account="1002.001",
    fee_account="6421.001",
    per_order_limit=5_000_000_00,
    daily_limit=100_000_000_00,
    fee_fixed=100,
    fee_bps=10,
    fee_max=1_000,
)

ORDERS: tuple[tuple[str, OrderKind, str, int, str, str], ...] = (
    # key, kind, ledger account, amount (fen), party account, party name
    (
        "demo:payment:1",
        OrderKind.DISBURSEMENT,
        "1303.001",
        20_000_00,
        "6222021234567890123",
        "张三",
    ),
    ("demo:payment:2", OrderKind.PAYOUT, INVESTOR, 5_000_00, "6217001234567890", "李四"),
    ("demo:payment:3", OrderKind.COLLECTION, CUSTOMER, 1_250_00, "6222021234567890123", "张三"),
    ("demo:payment:4", OrderKind.PAYOUT, INVESTOR, 800_00, REFUSED_ACCOUNT, "王五"),
    ("demo:payment:5", OrderKind.DISBURSEMENT, "1303.001", 3_000_00, PENDING_ACCOUNT, "赵六"),
)


def load_payments_demo(session: Session) -> int:
    """The demo channel, the accounts its orders use, and the orders (idempotent)."""
    if session.get(PaymentChannel, CHANNEL) is None:
        channel_config.save_channel(session, CHANNEL_CONFIG, ACTOR)
    for code, name in (
        (INVESTOR, "Demo investor / 演示出借人"),
        (CUSTOMER, "Demo customer / 演示客户"),
    ):
        ledger.open_account(
            session,
            AccountIn(
                code=code, name=name, type=AccountType.LIABILITY, currency="CNY", min_balance=0
            ),
        )
    ledger.post_entry(
        session,
        EntryIn(
            postings=[
                PostingIn(account="1002.001", side=Side.DEBIT, amount=50_000_00, currency="CNY"),
                PostingIn(account=INVESTOR, side=Side.CREDIT, amount=50_000_00, currency="CNY"),
            ],
            description="Demo investor funds the platform account",
        ),
        idempotency_key="demo:payment:funding",
    )
    for key, kind, account, amount, number, name in ORDERS:
        orders.create_order(
            session,
            OrderIn(
                kind=kind,
                channel=CHANNEL,
                account=account,
                amount=amount,
                currency="CNY",
                party=PartyIn(account_number=number, account_name=name),
                authorisation_ref="demo-mandate-1" if kind == OrderKind.COLLECTION else None,
                memo=f"demo {kind}",
            ),
            idempotency_key=key,
            actor=ACTOR,
        )
    return len(ORDERS)
