"""The payment order's state machine: the only transitions the platform accepts.

::

    created ──► submitted ──► succeeded ──► reversed
       │            │
       └──► failed ◄┘

``created -> failed`` is a cancellation before anything was sent (or a refusal at
submission, e.g. a channel's daily limit); ``submitted -> failed`` a final failure, or a
cancellation by staff after the channel confirmed it never executed the order.
A retryable failure keeps the order ``submitted`` (a new attempt is scheduled).
"""

from __future__ import annotations

from lendbridge.kit.errors import Conflict
from lendbridge.payments.models import OrderStatus

S = OrderStatus

LEGAL: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.SUBMITTED, S.FAILED}),
    S.SUBMITTED: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset({S.REVERSED}),
    S.FAILED: frozenset(),
    S.REVERSED: frozenset(),
}

TERMINAL = frozenset({S.FAILED, S.REVERSED})
IN_FLIGHT = frozenset({S.SUBMITTED})


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "This payment order cannot make that transition"


def check(current: OrderStatus, target: OrderStatus) -> None:
    if target not in LEGAL[current]:
        allowed = ", ".join(sorted(LEGAL[current])) or "none (terminal)"
        raise IllegalTransition(
            f"a payment order cannot go from {current} to {target} (allowed: {allowed})"
        )
