"""Rate limiting: fixed windows counted in Redis when configured (shared by every
process and instance), in process memory otherwise.

A window starts with the first hit of a (limit, identifiers) pair and lasts the
limit's period, like the fixed window of the `limits` library, whose expressions
("120/minute", "5/15minutes") and in-memory storage are used here. Against Redis a hit
is one round trip: a Lua script increments the counter, starts its expiry on the first
hit and returns the count with the time left, which the `limits` storage API would
need three round trips for.

When the shared store is unreachable the limiter fails open: the request is allowed
and not counted (no `RateLimit-*` headers), one warning is logged per outage, and the
store is not tried again for a few seconds so that a hanging Redis does not add its
timeout to every request. Abuse protection degrades; the service keeps serving.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from marketplace.core.errors import RateLimited
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

# Failures of the shared store (Redis) that rate limiting and abuse checks fail open on.
SHARED_STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, StorageError, OSError)

_INCREMENT_SCRIPT = """
local current = redis.call("INCRBY", KEYS[1], ARGV[2])
local ttl = redis.call("PTTL", KEYS[1])
if current == tonumber(ARGV[2]) or ttl < 0 then
    redis.call("PEXPIRE", KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {current, ttl}
"""


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after_seconds: int
    # False when the store could not be reached: the request was let through uncounted.
    counted: bool = True

    def headers(self) -> dict[str, str]:
        if not self.counted:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_after_seconds, 1))
        return headers

    def error(self) -> RateLimited:
        return RateLimited(headers=self.headers(), retry_after=max(self.reset_after_seconds, 1))

    def raise_if_exceeded(self) -> None:
        if not self.allowed:
            raise self.error()


@cache
def parse_limit(expression: str) -> RateLimitItem:
    return parse(expression)


class StoreOutage:
    """Remembers that a shared store failed, so that callers skip it for a few seconds
    (failing open) instead of waiting on it for every request, and so that the outage
    is logged once when it starts and once when it ends, not on every request."""

    def __init__(self, name: str, retry_after_seconds: float = 5.0) -> None:
        self.name = name
        self.retry_after_seconds = retry_after_seconds
        self._until = 0.0
        self._failing = False

    @property
    def active(self) -> bool:
        return self._failing and time.monotonic() < self._until

    def failed(self, error: BaseException) -> None:
        if not self._failing:
            logger.warning(
                "store.unavailable_failing_open", store=self.name, error=type(error).__name__
            )
        self._failing = True
        self._until = time.monotonic() + self.retry_after_seconds

    def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            logger.info("store.recovered", store=self.name)


class _RedisWindows:
    def __init__(self, client: Redis, key_prefix: str) -> None:
        self.client = client
        self.key_prefix = key_prefix + "rl:"
        self._script = client.register_script(_INCREMENT_SCRIPT)

    async def increment(self, key: str, period_seconds: int, cost: int) -> tuple[int, float]:
        result: Any = await self._script(
            keys=[self.key_prefix + key], args=[period_seconds * 1000, cost]
        )
        count, ttl_ms = result
        return int(count), int(ttl_ms) / 1000

    async def clear(self, key: str) -> None:
        await self.client.delete(self.key_prefix + key)


class _MemoryWindows:
    def __init__(self) -> None:
        self.storage = MemoryStorage()

    async def increment(self, key: str, period_seconds: int, cost: int) -> tuple[int, float]:
        count = await self.storage.incr(key, period_seconds, amount=cost)
        expires_at = await self.storage.get_expiry(key)
        return count, expires_at - time.time()

    async def clear(self, key: str) -> None:
        await self.storage.clear(key)


class RateLimiter:
    def __init__(self, windows: _RedisWindows | _MemoryWindows, mode: str) -> None:
        self._windows = windows
        self.mode = mode
        self.outage = StoreOutage("rate limits")

    @classmethod
    def for_redis(cls, client: Redis, key_prefix: str) -> RateLimiter:
        """Shares the client's connection pool, which the cache closes at shutdown."""
        return cls(_RedisWindows(client, key_prefix), "external")

    @classmethod
    def in_memory(cls) -> RateLimiter:
        return cls(_MemoryWindows(), "embedded")

    async def hit(self, expression: str, *identifiers: str, cost: int = 1) -> RateLimitResult:
        """Count one request against `expression` (e.g. "5/minute") for these identifiers."""
        item = parse_limit(expression)
        uncounted = RateLimitResult(
            allowed=True,
            limit=item.amount,
            remaining=item.amount,
            reset_after_seconds=0,
            counted=False,
        )
        if self.outage.active:
            return uncounted
        try:
            count, seconds_left = await self._windows.increment(
                item.key_for(*identifiers), item.get_expiry(), cost
            )
        except SHARED_STORE_ERRORS as error:
            self.outage.failed(error)
            return uncounted
        self.outage.succeeded()
        return RateLimitResult(
            allowed=count <= item.amount,
            limit=item.amount,
            remaining=max(item.amount - count, 0),
            reset_after_seconds=max(math.ceil(seconds_left), 0),
        )

    async def clear(self, expression: str, *identifiers: str) -> None:
        await self._windows.clear(parse_limit(expression).key_for(*identifiers))
