"""Refusals of the origination flow (RFC 9457 problems, ``kit/problems.py``)."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class ApplicationNotFound(NotFound):
    code = "origination.application_not_found"
    title = "No such application"


class ApplicationStillOpen(Conflict):
    code = "origination.application_open"
    title = "Another application of this customer is still open"


class NotEligibleToApply(Conflict):
    code = "origination.not_eligible_to_apply"
    title = "The customer cannot apply yet"


class IllegalApplicationMove(Conflict):
    code = "origination.illegal_transition"
    title = "The application cannot do that in its current status"


class OfferExpired(Conflict):
    code = "origination.offer_expired"
    title = "The offer has expired"


class OfferWithdrawnByProduct(Conflict):
    code = "origination.product_changed"
    title = "The product changed after the offer: apply again"
