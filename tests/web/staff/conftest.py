"""Back-office page fixtures: the loans world (tests/servicing) and the application desk
(tests/origination) next to the page fixtures (tests/web)."""

from __future__ import annotations

from tests.origination.conftest import desk
from tests.payments.conftest import payments
from tests.servicing.conftest import book

__all__ = ["book", "desk", "payments"]
