"""The words people read for the codes the domains store (``paid_off``, ``missing_at_channel``):
one vocabulary per kind of code, shown through the ``label`` filter in the page's language.

    {{ loan.status|label("loan_status") }}

A code no vocabulary knows is shown as it is, so a new status never breaks a page; the tests
check that every member of the enums below has its words.
"""

from __future__ import annotations

import enum

from lendbridge.approvals.models import ApprovalStatus
from lendbridge.audit.schemas import Reason as AuditFinding
from lendbridge.identity.models import UserKind, UserStatus
from lendbridge.origination.models import ApplicationStatus
from lendbridge.origination.vocabulary import Employment, Purpose
from lendbridge.payments.channels.base import Direction
from lendbridge.payments.models import OrderKind, OrderStatus
from lendbridge.payments.recon.models import BreakKind, BreakStatus, Resolution
from lendbridge.products.schemas import ProductStatus
from lendbridge.servicing.collections.models import (
    ContactChannel,
    ContactOutcome,
    PromiseStatus,
    ReminderKind,
    ReminderStatus,
)
from lendbridge.servicing.models import (
    Classification,
    DelinquencyBucket,
    InstallmentState,
    LoanStatus,
    RepaymentPurpose,
    RepaymentStatus,
    TransactionKind,
)
from lendbridge.servicing.schedule.terms import Frequency, Method
from lendbridge.web.i18n import N_, gettext_

VOCABULARIES: dict[str, dict[str, str]] = {
    "loan_status": {
        LoanStatus.PENDING_DISBURSEMENT: N_("Being paid out"),
        LoanStatus.ACTIVE: N_("Active"),
        LoanStatus.OVERDUE: N_("Overdue"),
        LoanStatus.PAID_OFF: N_("Paid off"),
        LoanStatus.WRITTEN_OFF: N_("Written off"),
        LoanStatus.RESTRUCTURED: N_("Restructured"),
        LoanStatus.CANCELLED: N_("Cancelled"),
    },
    "classification": {
        Classification.NORMAL: N_("Normal"),
        Classification.SPECIAL_MENTION: N_("Special mention"),
        Classification.SUBSTANDARD: N_("Substandard"),
        Classification.DOUBTFUL: N_("Doubtful"),
        Classification.LOSS: N_("Loss"),
    },
    "installment_state": {
        InstallmentState.PENDING: N_("Not yet paid"),
        InstallmentState.PAID: N_("Paid"),
        InstallmentState.CANCELLED: N_("Cancelled"),
    },
    "transaction_kind": {
        TransactionKind.DISBURSEMENT: N_("Disbursement"),
        TransactionKind.UPFRONT_FEE: N_("Upfront fee"),
        TransactionKind.ACCRUAL: N_("Interest accrual"),
        TransactionKind.FEE_CHARGE: N_("Fee charged"),
        TransactionKind.REPAYMENT: N_("Repayment"),
        TransactionKind.PREPAYMENT_FEE: N_("Prepayment fee"),
        TransactionKind.PENALTY: N_("Penalty interest"),
        TransactionKind.PROVISION: N_("Provision"),
        TransactionKind.REVERSAL: N_("Reversal"),
        TransactionKind.RESTRUCTURE: N_("Restructure"),
        TransactionKind.WRITE_OFF: N_("Write-off"),
        TransactionKind.RECOVERY: N_("Recovery"),
    },
    "repayment_purpose": {
        RepaymentPurpose.INSTALLMENTS: N_("Pay what is due"),
        RepaymentPurpose.PREPAYMENT: N_("Prepay principal"),
        RepaymentPurpose.PAYOFF: N_("Pay off the whole loan"),
    },
    "repayment_status": {
        RepaymentStatus.PENDING: N_("On its way"),
        RepaymentStatus.APPLIED: N_("Received"),
        RepaymentStatus.FAILED: N_("Failed"),
        RepaymentStatus.REVERSED: N_("Reversed"),
    },
    "application_status": {
        ApplicationStatus.IN_REVIEW: N_("In review"),
        ApplicationStatus.OFFERED: N_("Offer ready"),
        ApplicationStatus.DECLINED: N_("Declined"),
        ApplicationStatus.EXPIRED: N_("Expired"),
        ApplicationStatus.WITHDRAWN: N_("Withdrawn"),
        ApplicationStatus.SIGNED: N_("Signed"),
        ApplicationStatus.ACTIVE: N_("Paid out"),
    },
    "order_kind": {
        OrderKind.DISBURSEMENT: N_("Disbursement"),
        OrderKind.COLLECTION: N_("Auto-debit"),
        OrderKind.REPAYMENT: N_("Repayment"),
        OrderKind.PAYOUT: N_("Payout"),
        OrderKind.REFUND: N_("Refund"),
    },
    "order_status": {
        OrderStatus.CREATED: N_("Created"),
        OrderStatus.SUBMITTED: N_("Submitted"),
        OrderStatus.SUCCEEDED: N_("Succeeded"),
        OrderStatus.FAILED: N_("Failed"),
        OrderStatus.REVERSED: N_("Reversed"),
    },
    "direction": {
        Direction.PAY: N_("Pay out"),
        Direction.COLLECT: N_("Collect"),
    },
    "break_kind": {
        BreakKind.MISSING_ON_PLATFORM: N_("Missing on the platform"),
        BreakKind.MISSING_AT_CHANNEL: N_("Missing at the channel"),
        BreakKind.AMOUNT_MISMATCH: N_("Amount mismatch"),
        BreakKind.STATUS_MISMATCH: N_("Status mismatch"),
        BreakKind.UNREADABLE_LINE: N_("Unreadable line"),
    },
    "break_status": {
        BreakStatus.OPEN: N_("Unresolved"),  # not "Open": its Chinese is an instalment's 待还
        BreakStatus.RESOLVED: N_("Resolved"),
    },
    "resolution": {
        Resolution.ADJUSTED: N_("Adjusting entry"),
        Resolution.LINKED: N_("Linked to an order"),
        Resolution.EXPLAINED: N_("Explained"),
        Resolution.REMATCHED: N_("Matched by a later statement"),
    },
    "approval_status": {
        ApprovalStatus.PENDING: N_("Waiting for a checker"),
        ApprovalStatus.APPROVED: N_("Approved"),
        ApprovalStatus.REJECTED: N_("Rejected"),
        ApprovalStatus.EXPIRED: N_("Expired"),
    },
    "user_kind": {
        UserKind.BORROWER: N_("Borrower"),
        UserKind.INVESTOR: N_("Investor"),
        UserKind.STAFF: N_("Staff"),
    },
    "user_status": {
        UserStatus.ACTIVE: N_("Enabled"),  # not "Active": its Chinese is a loan's 还款中
        UserStatus.DISABLED: N_("Disabled"),
    },
    "card_status": {
        "bound": N_("Bound"),
        "unbound": N_("Unbound"),
    },
    "cob_status": {
        "running": N_("Running"),
        "done": N_("Done"),
        "failed": N_("Failed"),
    },
    "reminder_kind": {
        ReminderKind.BEFORE: N_("Before the due date"),
        ReminderKind.ON: N_("On the due date"),
        ReminderKind.AFTER: N_("After the due date"),
    },
    "reminder_status": {
        ReminderStatus.PENDING: N_("Waiting"),
        ReminderStatus.SENT: N_("Sent"),
        ReminderStatus.UNDELIVERABLE: N_("Undeliverable"),
    },
    "contact_channel": {
        ContactChannel.PHONE: N_("Phone call"),
        ContactChannel.SMS: N_("SMS"),
        ContactChannel.VISIT: N_("Visit"),
        ContactChannel.LETTER: N_("Letter"),
        ContactChannel.EMAIL: N_("Email"),
    },
    "contact_outcome": {
        ContactOutcome.REACHED: N_("Reached"),
        ContactOutcome.NO_ANSWER: N_("No answer"),
        ContactOutcome.WRONG_NUMBER: N_("Wrong number"),
        ContactOutcome.PROMISED: N_("Promised to pay"),
        ContactOutcome.REFUSED: N_("Refused"),
    },
    "promise_status": {
        PromiseStatus.OPEN: N_("Open promise"),
        PromiseStatus.KEPT: N_("Kept"),
        PromiseStatus.BROKEN: N_("Broken"),
        PromiseStatus.CANCELLED: N_("Cancelled"),
    },
    "delinquency_bucket": {
        DelinquencyBucket.CURRENT: N_("Current"),
        DelinquencyBucket.M1: "M1",  # the industry's names, the same in Chinese
        DelinquencyBucket.M2: "M2",
        DelinquencyBucket.M3: "M3",
        DelinquencyBucket.M3_PLUS: "M3+",
    },
    "purpose": {
        Purpose.CONSUMPTION: N_("Everyday spending"),
        Purpose.EDUCATION: N_("Education"),
        Purpose.MEDICAL: N_("Medical"),
        Purpose.HOME_IMPROVEMENT: N_("Home improvement"),
        Purpose.TRAVEL: N_("Travel"),
        Purpose.CAR: N_("Car"),
        Purpose.BUSINESS: N_("Small business"),
        Purpose.OTHER: N_("Other"),
    },
    "employment": {
        Employment.EMPLOYED: N_("Employed"),
        Employment.CIVIL_SERVANT: N_("Civil servant"),
        Employment.SELF_EMPLOYED: N_("Self-employed"),
        Employment.RETIRED: N_("Retired"),
        Employment.STUDENT: N_("Student"),
        Employment.UNEMPLOYED: N_("Unemployed"),
    },
    "decision_outcome": {
        "approve": N_("Approve"),
        "review": N_("Send to manual review"),
        "decline": N_("Decline"),
    },
    "audit_finding": {
        AuditFinding.CONTENT_ALTERED: N_("A record's content was altered"),
        AuditFinding.LINK_BROKEN: N_("The link to the record before is broken"),
        AuditFinding.GAP: N_("Records are missing"),
        AuditFinding.HEAD_MISMATCH: N_("The chain's head does not match"),
        AuditFinding.ANCHOR_MISMATCH: N_("The anchor does not match"),
    },
}

# The enums whose every member must have words (checked by the tests).
ENUMS: dict[str, type[enum.StrEnum]] = {
    "loan_status": LoanStatus,
    "classification": Classification,
    "installment_state": InstallmentState,
    "transaction_kind": TransactionKind,
    "repayment_purpose": RepaymentPurpose,
    "repayment_status": RepaymentStatus,
    "application_status": ApplicationStatus,
    "order_kind": OrderKind,
    "order_status": OrderStatus,
    "direction": Direction,
    "break_kind": BreakKind,
    "break_status": BreakStatus,
    "resolution": Resolution,
    "approval_status": ApprovalStatus,
    "user_kind": UserKind,
    "user_status": UserStatus,
    "reminder_kind": ReminderKind,
    "reminder_status": ReminderStatus,
    "contact_channel": ContactChannel,
    "contact_outcome": ContactOutcome,
    "promise_status": PromiseStatus,
    "delinquency_bucket": DelinquencyBucket,
    "purpose": Purpose,
    "employment": Employment,
    "audit_finding": AuditFinding,
}


# Which codes a badge shows as good news or bad; every other code is neutral.
GOOD = frozenset(
    {
        "active",
        "paid",
        "paid_off",
        "succeeded",
        "resolved",
        "done",
        "approved",
        "kept",
        "sent",
        "bound",
        "offered",
        "signed",
        "applied",
        "normal",
        "reached",
    }
)
BAD = frozenset(
    {
        "overdue",
        "written_off",
        "failed",
        "reversed",
        "declined",
        "rejected",
        "broken",
        "undeliverable",
        "loss",
        "doubtful",
        "substandard",
        "refused",
        "disabled",
        "M3",
        "M3+",
    }
)


def _value(code: object) -> str | None:
    value = code.value if isinstance(code, enum.Enum) else code
    return None if value is None else str(value)


def label(code: object, vocabulary: str) -> str:
    """``code`` in the words of the page's language. An unknown vocabulary is a KeyError (a
    misspelt template fails its test); a code the vocabulary lacks is shown as stored."""
    value = _value(code)
    if value is None:
        return "—"
    words = VOCABULARIES[vocabulary].get(value)
    return gettext_(words) if words else value


def tone(code: object) -> str:
    """The badge class for ``code``: ``ok``, ``bad`` or empty."""
    value = _value(code)
    return "ok" if value in GOOD else "bad" if value in BAD else ""


# Roles are rows (identity/catalog.py), not an enum: their words are kept here, checked
# against the catalog by tests/web/office/test_users.py.
VOCABULARIES["role"] = {
    "borrower": N_("Borrower"),
    "investor": N_("Investor"),
    "admin": N_("Administrator"),
    "loan_officer": N_("Loan officer"),
    "risk_analyst": N_("Risk analyst"),
    "compliance_officer": N_("Compliance officer"),
    "finance": N_("Finance"),
    "collector": N_("Collector"),
    "customer_service": N_("Customer service"),
    "auditor": N_("Auditor (read-only)"),
    "integration": N_("System integration"),
}

# How a reconciliation run matched lines to orders (payments/recon/matching.py, fuzzy.py).
VOCABULARIES["match_rule"] = {
    "reference": N_("By reference"),
    "split": N_("Several lines, one order (by reference)"),
    "batch": N_("One line, several orders (by reference)"),
    "amount_date_account": N_("By amount, date and account"),
    "one_to_many": N_("One line, several orders (by amount)"),
    "many_to_one": N_("Several lines, one order (by amount)"),
}

# A loan product's terms and state (the product pages).
VOCABULARIES["repayment_frequency"] = {
    Frequency.MONTHLY: N_("Monthly"),
    Frequency.BIWEEKLY: N_("Every two weeks"),
    Frequency.WEEKLY: N_("Weekly"),
    Frequency.SINGLE: N_("Single payment (term in days)"),
}
VOCABULARIES["repayment_method"] = {
    Method.EQUAL_INSTALLMENT: N_("Equal installments"),
    Method.EQUAL_PRINCIPAL: N_("Equal principal"),
    Method.FLAT: N_("Flat interest"),
    Method.INTEREST_ONLY: N_("Interest only, principal at the end"),
    Method.BULLET: N_("Bullet: all at maturity"),
}
VOCABULARIES["product_status"] = {
    ProductStatus.ACTIVE: N_("On sale"),
    ProductStatus.RETIRED: N_("Retired"),
}
ENUMS.update(
    repayment_frequency=Frequency,
    repayment_method=Method,
    product_status=ProductStatus,
)
