"""Every module that subscribes to domain events (``kit/events.py``), imported once per process
by the first event emitted, so that no event misses a subscriber. Add a domain's subscriber
module here."""

from lendbridge.servicing import subscribers as servicing_subscribers

__all__ = ["servicing_subscribers"]
