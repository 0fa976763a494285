"""What loans need to know about a customer: that they are a verified borrower, their bound
bank card and verified name (the party of disbursements and repayments), and their credit
balance in the ledger.

The identity domain has no service function for these reads yet, so they are made here,
read-only and in this one module, against its tables (``User``, ``Person``, ``BankCard``);
when identity publishes such functions, only this module changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.identity.kyc_models import BankCard, KycLevel, Person
from lendbridge.identity.models import User, UserKind, UserStatus
from lendbridge.kit.errors import Conflict, ValidationFailed, field_error
from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import AccountType
from lendbridge.ledger.schemas import AccountIn
from lendbridge.payments.schemas import PartyIn
from lendbridge.servicing.accounting import CUSTOMER_BALANCES

BOUND = "bound"


def verified_borrower(
    session: Session, customer_id: uuid.UUID, bank_card_id: uuid.UUID | None
) -> BankCard:
    """The card a new loan is paid to: ``bank_card_id`` if it is the customer's bound card,
    else their most recently bound one. Refuses (naming the field) an unknown customer, one
    who is not an active borrower, one not KYC-verified (identity and a bank card) and a
    missing card."""
    user = session.get(User, customer_id)
    if user is None or user.kind != UserKind.BORROWER.value:
        raise field_error(ValidationFailed, "customer_id", "no borrower has this id")
    if user.status != UserStatus.ACTIVE.value:
        raise field_error(ValidationFailed, "customer_id", "the customer's account is disabled")
    if not KycLevel.at_least(user.kyc_level, KycLevel.BANK_CARD_BOUND):
        raise field_error(
            ValidationFailed,
            "customer_id",
            f"the customer is not KYC-verified (level {user.kyc_level}): a loan needs a "
            "verified identity and a bound bank card",
        )
    if bank_card_id is not None:
        card = session.get(BankCard, bank_card_id)
        if card is None or card.user_id != customer_id or card.status != BOUND:
            raise field_error(
                ValidationFailed, "bank_card_id", "is not a bank card the customer has bound"
            )
        return card
    card = bound_card(session, customer_id)
    if card is None:
        raise field_error(ValidationFailed, "bank_card_id", "the customer has no bound bank card")
    return card


def bound_card(session: Session, customer_id: uuid.UUID) -> BankCard | None:
    return session.scalar(
        select(BankCard)
        .where(BankCard.user_id == customer_id, BankCard.status == BOUND)
        .order_by(BankCard.bound_at.desc(), BankCard.id.desc())
        .limit(1)
    )


def party(session: Session, customer_id: uuid.UUID, card_id: uuid.UUID) -> PartyIn:
    """The customer's card and verified name, in clear for the payment order (which stores
    them encrypted and shows them masked): the loan's card while it is bound, else the card
    bound last. Reads (and decrypts) only those two columns: every repayment asks."""
    in_name = (
        select(BankCard.number, Person.name)
        .join(Person, Person.user_id == BankCard.user_id)
        .where(BankCard.user_id == customer_id, BankCard.status == BOUND)
    )
    row = session.execute(in_name.where(BankCard.id == card_id)).first()
    if row is None:
        row = session.execute(
            in_name.order_by(BankCard.bound_at.desc(), BankCard.id.desc()).limit(1)
        ).first()
    if row is None:
        raise Conflict(
            "the customer has no bound bank card in their verified name; they must bind one"
        )
    return PartyIn(account_number=row.number, account_name=row.name)


def credit_account_code(customer_id: uuid.UUID) -> str:
    """``2241.001.<customer id, 32 hex digits>``: one credit balance per customer."""
    return f"{CUSTOMER_BALANCES}.{customer_id.hex}"


def open_credit_account(session: Session, customer_id: uuid.UUID, currency: str) -> str:
    """The customer's credit-balance account (a payable that may not go negative), opened on
    their first loan. Two first loans of one customer at once: the loser of the insert race
    finds the winner's account."""
    code = credit_account_code(customer_id)
    request = AccountIn(
        code=code,
        name=f"Customer balance {customer_id} / 客户余额",
        type=AccountType.LIABILITY,
        currency=currency,
        owner_type="customer",
        owner_id=str(customer_id),
        min_balance=0,
    )
    try:
        with session.begin_nested():
            ledger.open_account(session, request)
    except IntegrityError:
        ledger.open_account(session, request)
    return code
