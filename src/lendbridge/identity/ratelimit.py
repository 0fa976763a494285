"""Rate limits on sign-in and one-time codes, per account and per client address.

Counted in process by default; in Redis when ``LENDBRIDGE_REDIS_URL`` is set, so that every
server process shares the counts. Both through the ``limits`` library (moving windows).
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Rules:
    per_account: RateLimitItem
    per_address: RateLimitItem


SIGN_IN = Rules(per_account=parse("10/15minutes"), per_address=parse("100/15minutes"))
ONE_TIME_CODE = Rules(per_account=parse("5/hour"), per_address=parse("50/hour"))


class RateLimiter:
    def __init__(self, storage: Storage, *, namespace: str = "lendbridge") -> None:
        self.storage = storage
        self.namespace = namespace  # several platforms (or test runs) can share one Redis
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def from_url(cls, redis_url: str | None, *, namespace: str = "lendbridge") -> RateLimiter:
        if redis_url:
            return cls(RedisStorage(redis_url), namespace=namespace)
        return cls(MemoryStorage(), namespace=namespace)

    def allow(self, rules: Rules, *, scope: str, account: str | None, address: str | None) -> bool:
        """Count one attempt; False when either the account's or the address's budget is
        spent (the attempt is then not counted against the other)."""
        prefix = f"{self.namespace}:{scope}"
        checks = [
            (rules.per_account, f"{prefix}:account:{account}") if account else None,
            (rules.per_address, f"{prefix}:address:{address}") if address else None,
        ]
        present = [c for c in checks if c is not None]
        if not all(self._limiter.test(item, key) for item, key in present):
            return False
        return all(self._limiter.hit(item, key) for item, key in present)
