"""Schedule terms for tests: the engine's defaults with short names for what varies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lendbridge.servicing.schedule import Terms


def terms(
    *,
    principal: int = 1_000_000,
    rate: str = "12",
    term: int = 12,
    start: str | dt.date = "2024-01-01",
    **changes: Any,
) -> Terms:
    """Terms with the rate as a percent string and the start as an ISO date."""
    day = dt.date.fromisoformat(start) if isinstance(start, str) else start
    return Terms(
        principal=principal, annual_rate_percent=Decimal(rate), term=term, start=day, **changes
    )
