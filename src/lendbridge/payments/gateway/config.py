"""The gateway's fixed configuration: merchants and their secrets, fees, callback policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from lendbridge.kit import clock as platform_clock
from lendbridge.payments.signing import DEFAULT_TOLERANCE

_BPS = Decimal(10_000)


@dataclass(frozen=True)
class FeeSchedule:
    """What the channel charges per transaction that moved money: ``fixed`` minor units plus
    ``bps`` basis points of the amount (rounded half-up to the minor unit, as banks print
    fees), then held between ``minimum`` and ``maximum``. A reversal refunds no fee."""

    fixed: int = 0
    bps: Decimal = Decimal(0)
    minimum: int = 0
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.fixed < 0 or self.minimum < 0 or self.bps < 0:
            raise ValueError("fees cannot be negative")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError("the fee maximum is below its minimum")

    def fee(self, amount: int) -> int:
        proportional = (Decimal(amount) * self.bps / _BPS).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        total = max(self.fixed + int(proportional), self.minimum)
        return total if self.maximum is None else min(total, self.maximum)


@dataclass(frozen=True)
class GatewayConfig:
    merchants: Mapping[str, bytes]  # merchant id -> shared HMAC secret
    seed: int = 0
    signature_tolerance: int = DEFAULT_TOLERANCE  # seconds
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    timezone: str = "Asia/Shanghai"  # the bank's trade date and printed times
    callback_attempts: int = 4  # deliveries tried per callback before giving up
    callback_backoff: float = 0.2  # seconds before the 2nd try, doubled each time
    callback_timeout: float = 5.0  # seconds per delivery
    callback_concurrency: int = 32  # deliveries in flight at once
    max_body_bytes: int = 16_384
    # The gateway's clock: the platform's clock by default, so an in-process gateway follows
    # a test's fixed time and signatures stay fresh on both sides.
    clock: Callable[[], dt.datetime] = platform_clock.now

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("the gateway needs at least one merchant")
        if self.callback_attempts < 1:
            raise ValueError("callback_attempts must be at least 1")
