"""Risk-list errors: each with its HTTP status and a stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class AlreadyListed(Conflict):
    code = "risk_list.already_listed"
    title = "The value is already on the risk list"


class EntryNotFound(NotFound):
    code = "risk_list.entry_not_found"
    title = "No such risk-list entry"


class AlreadyRemoved(Conflict):
    code = "risk_list.already_removed"
    title = "The risk-list entry was already removed"
