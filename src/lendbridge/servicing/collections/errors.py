"""The refusals of collections: typed, each with its HTTP status and stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class PromiseNotFound(NotFound):
    code = "collection_promise_not_found"
    title = "No such promise to pay"


class PromiseNotOpen(Conflict):
    code = "collection_promise_not_open"
    title = "The promise to pay is no longer open"
