"""Fault configuration and the per-order decisions drawn from it.

Every decision comes from a random source seeded by ``(seed, order_no, attempt)``, not from
one shared generator: an order's fate then does not depend on which other orders arrived
first, so a concurrent run replays exactly under the same seed. Each decision consumes its own
draw in a fixed order, so changing one rate does not reshuffle the others.

Probabilities are floats (they are not money); durations are integer milliseconds.
"""

from __future__ import annotations

import enum
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Action(enum.StrEnum):
    """What to do with an order, forced by ``by_order`` / ``by_account`` instead of drawn."""

    SUCCEED = "SUCCEED"  # succeed in the answer
    PROCESSING = "PROCESSING"  # answer "processing", succeed after ``async_delay_ms``
    HOLD = "HOLD"  # answer "processing" and stay so until an operator completes it
    REVERSE = "REVERSE"  # succeed, then reverse after ``reversal_delay_ms``
    SYSTEM_BUSY = "SYSTEM_BUSY"  # 503, not recorded
    TIMEOUT = "TIMEOUT"  # recorded and carried out, the answer never arrives
    LOST = "LOST"  # the request vanishes before it is recorded
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CARD_FROZEN = "CARD_FROZEN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    INVALID_ACCOUNT = "INVALID_ACCOUNT"


class FinalError(enum.StrEnum):
    """Failures after which the order is final at the channel."""

    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CARD_FROZEN = "CARD_FROZEN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    INVALID_ACCOUNT = "INVALID_ACCOUNT"


TRANSPORT_ACTIONS = frozenset({Action.SYSTEM_BUSY, Action.TIMEOUT, Action.LOST})
FINAL_ERRORS = frozenset(code.value for code in FinalError)

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Millis = Annotated[int, Field(ge=0, le=3_600_000)]


class BusyBurst(BaseModel):
    """Every ``every_ms``, for ``length_ms``, answer SYSTEM_BUSY with probability ``rate``
    (the channel's end-of-day batch, a flash sale): faults that come in waves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every_ms: Annotated[int, Field(gt=0)]
    length_ms: Millis
    rate: Rate = 1.0

    def active(self, elapsed_ms: int) -> bool:
        return elapsed_ms % self.every_ms < self.length_ms


class FaultConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: Millis = 0  # added to every order request and query
    jitter_ms: Millis = 0  # plus a uniform random 0..jitter_ms
    async_rate: Rate = 0.0  # share of orders answered "processing", completed later
    async_delay_ms: tuple[Millis, Millis] = (20, 200)
    failure_rates: dict[FinalError, Rate] = Field(default_factory=dict)
    system_busy_rate: Rate = 0.0
    busy_burst: BusyBurst | None = None
    timeout_rate: Rate = 0.0  # recorded and carried out, answer delayed or dropped
    lost_rate: Rate = 0.0  # never recorded, answer delayed or dropped
    timeout_mode: Literal["delay", "drop"] = "delay"
    timeout_delay_ms: Millis = 30_000  # "delay" mode: answer after this (past any client timeout)
    reversal_rate: Rate = 0.0  # share of succeeded orders reversed later
    reversal_delay_ms: tuple[Millis, Millis] = (50, 500)
    callback_delay_ms: tuple[Millis, Millis] = (0, 0)
    callback_duplicate_rate: Rate = 0.0  # share of callbacks delivered several times
    callback_copies: Annotated[int, Field(ge=2, le=10)] = 2  # deliveries of a duplicated one
    callback_stale_rate: Rate = 0.0  # a stale "processing" callback after the final one
    # For orders that get reversed: the reversal's callback arrives before the success's.
    callback_reversal_first_rate: Rate = 0.0
    faults_on_queries: bool = True  # latency and system busy apply to queries too
    by_order: dict[str, list[Action]] = Field(default_factory=dict)  # one action per attempt
    by_account: dict[str, Action] = Field(default_factory=dict)  # every attempt

    @model_validator(mode="after")
    def _consistent(self) -> FaultConfig:
        if sum(self.failure_rates.values()) > 1.0:
            raise ValueError("failure_rates add up to more than 1")
        if self.system_busy_rate + self.timeout_rate + self.lost_rate > 1.0:
            raise ValueError("system_busy_rate + timeout_rate + lost_rate exceed 1")
        for name in ("async_delay_ms", "reversal_delay_ms", "callback_delay_ms"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: the minimum is above the maximum")
        return self

    @classmethod
    def from_file(cls, path: Path) -> FaultConfig:
        return cls.model_validate_json(path.read_bytes())

    def updated(self, patch: dict[str, Any]) -> FaultConfig:
        """These faults with the fields of ``patch`` replaced (validated as a whole)."""
        return FaultConfig.model_validate({**self.model_dump(), **patch})


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """What will happen to a newly recorded order, decided once when it is recorded."""

    error_code: str | None  # a final failure, or None for success
    async_delay: float | None  # seconds until completion; None: completed in the answer
    hold: bool  # processing until an operator completes it
    reverse_delay: float | None  # seconds after success until the reversal
    callback_copies: int
    stale_processing: bool
    reversal_first: bool
    callback_delays: tuple[float, float, float]  # final, reversal, stale (seconds)


def rng_for(seed: int, *parts: str) -> random.Random:
    digest = hashlib.blake2b("\x1f".join((str(seed), *parts)).encode(), digest_size=8).digest()
    # Reproducible simulation draws, not secrets: a seeded PRNG is what is wanted.
    return random.Random(int.from_bytes(digest, "big"))  # noqa: S311


def _between(rng: random.Random, span: tuple[int, int]) -> float:
    return rng.uniform(span[0], span[1]) / 1000


def latency(faults: FaultConfig, rng: random.Random) -> float:
    """Seconds to wait before answering (always draws, to keep later draws in place)."""
    jitter = rng.random() * faults.jitter_ms
    return (faults.latency_ms + jitter) / 1000


def forced_action(faults: FaultConfig, order_no: str, account: str, attempt: int) -> Action | None:
    script = faults.by_order.get(order_no)
    if script and attempt < len(script):
        return script[attempt]
    return faults.by_account.get(account)


def transport_fault(
    faults: FaultConfig, forced: Action | None, rng: random.Random, elapsed_ms: int
) -> Action | None:
    """SYSTEM_BUSY, TIMEOUT, LOST or None, for one attempt."""
    draw, burst_draw = rng.random(), rng.random()
    if forced is not None:
        return forced if forced in TRANSPORT_ACTIONS else None
    burst = faults.busy_burst
    if burst is not None and burst.active(elapsed_ms) and burst_draw < burst.rate:
        return Action.SYSTEM_BUSY
    threshold = faults.lost_rate
    if draw < threshold:
        return Action.LOST
    threshold += faults.system_busy_rate
    if draw < threshold:
        return Action.SYSTEM_BUSY
    threshold += faults.timeout_rate
    if draw < threshold:
        return Action.TIMEOUT
    return None


def busy_query(faults: FaultConfig, rng: random.Random, elapsed_ms: int) -> bool:
    draw, burst_draw = rng.random(), rng.random()
    if not faults.faults_on_queries:
        return False
    burst = faults.busy_burst
    if burst is not None and burst.active(elapsed_ms) and burst_draw < burst.rate:
        return True
    return draw < faults.system_busy_rate


def plan_order(faults: FaultConfig, forced: Action | None, rng: random.Random) -> OrderPlan:
    draws = [rng.random() for _ in range(6)]
    delays = (
        _between(rng, faults.async_delay_ms),
        _between(rng, faults.reversal_delay_ms),
        _between(rng, faults.callback_delay_ms),
        _between(rng, faults.callback_delay_ms),
        _between(rng, faults.callback_delay_ms),
    )
    error_code: str | None = None
    if forced is not None and forced.value in FINAL_ERRORS:
        error_code = forced.value
    elif forced is None:
        threshold = 0.0
        for code, rate in faults.failure_rates.items():
            threshold += rate
            if draws[0] < threshold:
                error_code = code.value
                break
    if forced in (Action.PROCESSING, Action.HOLD):
        is_async = True
    elif forced is None:
        is_async = draws[1] < faults.async_rate
    else:
        is_async = False
    reverse = error_code is None and (
        forced is Action.REVERSE or (forced is None and draws[2] < faults.reversal_rate)
    )
    return OrderPlan(
        error_code=error_code,
        async_delay=delays[0] if is_async else None,
        hold=forced is Action.HOLD,
        reverse_delay=delays[1] if reverse else None,
        callback_copies=faults.callback_copies if draws[3] < faults.callback_duplicate_rate else 1,
        stale_processing=draws[4] < faults.callback_stale_rate,
        reversal_first=reverse and draws[5] < faults.callback_reversal_first_rate,
        callback_delays=(delays[2], delays[3], delays[4]),
    )
