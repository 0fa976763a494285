"""The standard chart of accounts of a Chinese small-loan lender, as data.

Codes follow the numbering of the Chinese accounting standards for financial enterprises
(企业会计准则 — 会计科目): the first digit is the class, four digits the first-level account
(一级科目), and ``.NNN`` a sub-account (明细科目):

- 1xxx assets (资产类), including the contra-asset 1304 loan-loss provision;
- 2xxx liabilities (负债类);
- 3xxx common accounts (共同类): clearing and currency exchange, which may carry a balance on
  either side;
- 4xxx owners' equity (所有者权益类);
- 6xxx profit and loss (损益类): 60xx income, 66xx-67xx expenses.

Per-customer and per-investor accounts hang below their control account
(``2241.001.<customer>``) and are opened by the domain that onboards the party. See
docs/glossary.md for the full table with Chinese names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.ledger import service
from lendbridge.ledger.models import Account, AccountType, Side
from lendbridge.ledger.schemas import AccountIn

A, L, E, INC, EXP = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.EQUITY,
    AccountType.INCOME,
    AccountType.EXPENSE,
)


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str  # "English / 中文": AccountIn has one name field and both audiences read it
    type: AccountType
    currency: str = "CNY"
    normal_side: Side | None = None
    min_balance: int | None = None

    def to_request(self) -> AccountIn:
        return AccountIn(
            code=self.code,
            name=self.name,
            type=self.type,
            currency=self.currency,
            normal_side=self.normal_side,
            min_balance=self.min_balance,
        )


# The demo payment channels; a deployment lists its own (one settlement account, one clearing
# account per channel).
CHANNELS: dict[str, str] = {"001": "Channel A (bank direct debit)", "002": "Channel B (UnionPay)"}

STANDARD_CHART: tuple[ChartAccount, ...] = (
    # 1xxx assets
    ChartAccount("1002.001", "Bank settlement - Channel A / 银行存款-渠道A结算户", A),
    ChartAccount("1002.002", "Bank settlement - Channel B / 银行存款-渠道B结算户", A),
    ChartAccount("1002.101", "Bank deposit USD / 银行存款-美元户", A, currency="USD"),
    ChartAccount("1122.001", "Loan fees receivable / 应收账款-应收手续费", A),
    # The receivables of the loans that servicing keeps (its sub-ledger equals these accounts
    # exactly); the .001 accounts above are for entries booked by hand.
    ChartAccount(
        "1122.002", "Loan fees receivable - loan book / 应收账款-应收手续费(贷款分户账)", A
    ),
    ChartAccount("1132.001", "Loan interest receivable / 应收利息-贷款利息", A),
    ChartAccount("1132.002", "Penalty interest receivable / 应收利息-罚息", A),
    ChartAccount(
        "1132.003", "Loan interest receivable - loan book / 应收利息-贷款利息(贷款分户账)", A
    ),
    ChartAccount(
        "1132.004", "Penalty interest receivable - loan book / 应收利息-罚息(贷款分户账)", A
    ),
    ChartAccount("1303.001", "Loan principal receivable / 贷款-本金", A),
    ChartAccount("1303.002", "Loan principal receivable - loan book / 贷款-本金(贷款分户账)", A),
    # A contra-asset: an asset account whose normal balance is a credit.
    ChartAccount("1304.001", "Loan-loss provision / 贷款损失准备", A, normal_side=Side.CREDIT),
    ChartAccount(
        "1304.002",
        "Loan-loss provision - loan book / 贷款损失准备(贷款分户账)",
        A,
        normal_side=Side.CREDIT,
    ),
    ChartAccount("1901.001", "Suspense / 待处理款项-暂挂待查", A),
    # 2xxx liabilities. Customer and investor money is owed to them and may never go
    # negative; a small-loan company takes no deposits, so these are payables, not 吸收存款.
    ChartAccount("2241.001", "Customer credit balances / 其他应付款-客户余额", L, min_balance=0),
    ChartAccount("2241.002", "Investor balances / 其他应付款-出借人余额", L, min_balance=0),
    # 3xxx common accounts
    ChartAccount("3001.001", "Channel clearing - Channel A / 清算资金往来-渠道A", A),
    ChartAccount("3001.002", "Channel clearing - Channel B / 清算资金往来-渠道B", A),
    ChartAccount("3002.CNY", "FX position CNY / 货币兑换-人民币", A),
    ChartAccount("3002.USD", "FX position USD / 货币兑换-美元", A, currency="USD"),
    # 4xxx equity
    ChartAccount("4001.001", "Paid-in capital / 实收资本", E),
    ChartAccount("4104.001", "Retained earnings / 利润分配-未分配利润", E),
    # 6xxx income
    ChartAccount("6011.001", "Loan interest income / 利息收入-贷款利息", INC),
    ChartAccount("6011.002", "Penalty interest income / 利息收入-罚息", INC),
    ChartAccount("6021.001", "Loan fee income / 手续费及佣金收入-贷款手续费", INC),
    ChartAccount("6061.001", "FX gains and losses / 汇兑损益", INC),
    # 6xxx expenses
    ChartAccount("6421.001", "Payment channel fees / 手续费及佣金支出-支付通道费", EXP),
    ChartAccount("6603.001", "Rounding differences / 财务费用-尾差", EXP),
    ChartAccount("6702.001", "Loan-loss provision expense / 信用减值损失-贷款损失准备", EXP),
    ChartAccount("6702.002", "Loan write-off expense / 信用减值损失-贷款核销", EXP),
    # A recovery of a written-off loan reverses a credit impairment loss (CAS 22): a
    # contra-expense, credit normal, so the 6702 family nets to the period's real loss.
    ChartAccount(
        "6702.003",
        "Recoveries of loans written off / 信用减值损失-已核销贷款收回",
        EXP,
        normal_side=Side.CREDIT,
    ),
)

CLASS_OF_FIRST_DIGIT: dict[str, str] = {
    "1": "assets",
    "2": "liabilities",
    "3": "common",
    "4": "equity",
    "6": "profit and loss",
}


def load_chart(session: Session, chart: Sequence[ChartAccount] = STANDARD_CHART) -> int:
    """Open every account of the chart that is not open yet; returns how many were opened.

    Idempotent: an account that exists with the same attributes is left alone, one that
    exists with other attributes is a conflict (the chart never silently changes an account).
    """
    codes = [a.code for a in chart]
    existing = set(session.scalars(select(Account.code).where(Account.code.in_(codes))))
    for account in chart:
        service.open_account(session, account.to_request())
    return len(set(codes) - existing)
