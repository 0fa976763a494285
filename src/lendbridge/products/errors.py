"""The products domain's refusals: typed, each with its HTTP status and stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "No such product or product version"


class ProductRetired(Conflict):
    code = "product_retired"
    title = "The product is retired: it takes no new loans and no new versions"
