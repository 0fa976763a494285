"""Every module that subscribes to domain events (``kit/events.py``), imported once per process
by the first event emitted, so that no event misses a subscriber. Add a domain's subscriber
module here."""

from lendbridge.origination import subscribers as origination_subscribers
from lendbridge.servicing import recovery as servicing_recovery
from lendbridge.servicing import subscribers as servicing_subscribers
from lendbridge.servicing.collections import notifications as collections_notifications

__all__ = [
    "collections_notifications",
    "origination_subscribers",
    "servicing_recovery",
    "servicing_subscribers",
]
