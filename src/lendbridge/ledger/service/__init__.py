"""Ledger business operations. Every function flushes; the caller's edge commits."""

from lendbridge.ledger.service.accounts import (
    get_account,
    list_accounts,
    open_account,
    set_account_status,
)
from lendbridge.ledger.service.holds import expire_holds, get_hold, place_hold, post_hold, void_hold
from lendbridge.ledger.service.posting import (
    convert_currency,
    get_entry,
    post_batch,
    post_bulk,
    post_entry,
    post_stream,
    reverse_entry,
)
from lendbridge.ledger.service.reads import balance, statement, trial_balance

__all__ = [
    "balance",
    "convert_currency",
    "expire_holds",
    "get_account",
    "get_entry",
    "get_hold",
    "list_accounts",
    "open_account",
    "place_hold",
    "post_batch",
    "post_bulk",
    "post_entry",
    "post_hold",
    "post_stream",
    "reverse_entry",
    "set_account_status",
    "statement",
    "trial_balance",
    "void_hold",
]
