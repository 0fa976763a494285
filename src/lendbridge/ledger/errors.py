"""Ledger errors, each with its HTTP status and stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound, ValidationFailed


class UnknownAccount(ValidationFailed):
    code = "ledger.unknown_account"
    title = "No account has that code"


class AccountNotFound(NotFound):
    code = "ledger.account_not_found"
    title = "Account not found"


class DuplicateAccount(Conflict):
    code = "ledger.duplicate_account"
    title = "An account with that code exists"


class CurrencyMismatch(ValidationFailed):
    code = "ledger.currency_mismatch"
    title = "The posting's currency is not the account's"


class AccountNotOpen(Conflict):
    code = "ledger.account_not_open"
    title = "The account is frozen or closed"


class BalanceLimitExceeded(Conflict):
    code = "ledger.balance_limit_exceeded"
    title = "The posting would take an account past its balance limit"


class AmountOverflow(ValidationFailed):
    code = "ledger.amount_overflow"
    title = "The account's totals would exceed the 64-bit range"


class EntryNotFound(NotFound):
    code = "ledger.entry_not_found"
    title = "Journal entry not found"


class AlreadyReversed(Conflict):
    code = "ledger.already_reversed"
    title = "The entry has already been reversed"


class HoldNotFound(NotFound):
    code = "ledger.hold_not_found"
    title = "Hold not found"


class HoldNotPending(Conflict):
    code = "ledger.hold_not_pending"
    title = "The hold was already posted, voided or expired"


class HoldAmountExceeded(ValidationFailed):
    code = "ledger.hold_amount_exceeded"
    title = "A hold can be posted for at most its pending amount"


class IllegalStatusChange(Conflict):
    code = "ledger.illegal_status_change"
    title = "That account status change is not allowed"
