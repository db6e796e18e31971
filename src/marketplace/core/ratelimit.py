"""Rate limiting: fixed windows counted in Redis when configured (shared by every
process and instance), in process memory otherwise.

A window starts with the first hit of a (limit, identifiers) pair and lasts the
limit's period, like the fixed window of the `limits` library, whose expressions
("120/minute", "5/15minutes") and in-memory storage are used here. Against Redis a hit
is one round trip: a Lua script increments the counter, starts its expiry on the first
hit and returns the count with the time left, which the `limits` storage API would
need three round trips for.

`hit_guarded` counts a hit and reads entries of the shared cache in the same round
trip, counting only when those entries are as the caller expects (the abuse guard's
rules unchanged, no block on the address): every anonymous API request used to make
one round trip for the guard and another for the limit (issue 14, see `hit_guarded`).

When the shared store is unreachable the limiter fails open: the request is allowed
and not counted (no `RateLimit-*` headers), one warning is logged per outage, and the
store is not tried again for a few seconds so that a hanging Redis does not add its
timeout to every request. Abuse protection degrades; the service keeps serving.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from marketplace.core.cache import Cache, RedisCache
from marketplace.core.errors import RateLimited
from marketplace.core.logging import get_logger
from marketplace.core.redis import Script, hot_path

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

# KEYS: the cache entries to read, then the counter. ARGV: the period (ms), the cost,
# then one condition per entry read: "" none, "-" the entry must be absent, else the
# SHA-1 (hex) the entry must have. Counts only when every condition holds; returns the
# entries read, then the count and the time left in ms (-1, -1: not counted).
_GUARDED_INCREMENT_SCRIPT = """
local reads = #KEYS - 1
local result = {}
local counts = true
for i = 1, reads do
    local value = redis.call("GET", KEYS[i])
    result[i] = value
    local condition = ARGV[2 + i]
    if condition == "-" then
        if value then counts = false end
    elseif condition ~= "" then
        if not value or redis.sha1hex(value) ~= condition then counts = false end
    end
end
if not counts then
    result[reads + 1] = -1
    result[reads + 2] = -1
    return result
end
local counter = KEYS[reads + 1]
local current = redis.call("INCRBY", counter, ARGV[2])
local ttl = redis.call("PTTL", counter)
if current == tonumber(ARGV[2]) or ttl < 0 then
    redis.call("PEXPIRE", counter, ARGV[1])
    ttl = tonumber(ARGV[1])
end
result[reads + 1] = current
result[reads + 2] = ttl
return result
"""

# A condition of `hit_guarded` on an entry it reads.
ABSENT = "-"
ANY = ""


def digest(value: bytes) -> str:
    """The form of an entry's expected value in a `hit_guarded` condition."""
    return hashlib.sha1(value, usedforsecurity=False).hexdigest()


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
        self._guarded_script = client.register_script(_GUARDED_INCREMENT_SCRIPT)
        # The scripts run on the pipelined connection when there is one (as the cache's
        # reads: `core.redis.HotPath`), else through the client's pool.
        self.hot = hot_path(client)
        self._hot_script = Script(_INCREMENT_SCRIPT)
        self._hot_guarded_script = Script(_GUARDED_INCREMENT_SCRIPT)

    async def _run(
        self, hot_script: Script, pooled_script: Any, keys: list[str], args: list[Any]
    ) -> Any:
        """A script on the pipelined connection when there is one, else through the pool."""
        if self.hot is not None:
            return await self.hot.evalsha(hot_script, keys, args)
        return await pooled_script(keys=keys, args=args)

    async def increment_guarded(
        self, keys: Sequence[str], conditions: Sequence[str], key: str, period_seconds: int
    ) -> tuple[list[bytes | None], int | None, float]:
        all_keys = [*keys, self.key_prefix + key]
        args: list[str | int] = [period_seconds * 1000, 1, *conditions]
        result = await self._run(self._hot_guarded_script, self._guarded_script, all_keys, args)
        *values, count, ttl_ms = result
        if count < 0:
            return values, None, 0.0
        return values, int(count), int(ttl_ms) / 1000

    async def increment(self, key: str, period_seconds: int, cost: int) -> tuple[int, float]:
        keys, args = [self.key_prefix + key], [period_seconds * 1000, cost]
        count, ttl_ms = await self._run(self._hot_script, self._script, keys, args)
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

    @staticmethod
    def uncounted(expression: str) -> RateLimitResult:
        """What a request let through uncounted gets (the store was unreachable)."""
        item = parse_limit(expression)
        return RateLimitResult(
            allowed=True,
            limit=item.amount,
            remaining=item.amount,
            reset_after_seconds=0,
            counted=False,
        )

    @staticmethod
    def _result(item: RateLimitItem, count: int, seconds_left: float) -> RateLimitResult:
        return RateLimitResult(
            allowed=count <= item.amount,
            limit=item.amount,
            remaining=max(item.amount - count, 0),
            reset_after_seconds=max(math.ceil(seconds_left), 0),
        )

    async def hit(self, expression: str, *identifiers: str, cost: int = 1) -> RateLimitResult:
        """Count one request against `expression` (e.g. "5/minute") for these identifiers."""
        item = parse_limit(expression)
        if self.outage.active:
            return self.uncounted(expression)
        try:
            count, seconds_left = await self._windows.increment(
                item.key_for(*identifiers), item.get_expiry(), cost
            )
        except SHARED_STORE_ERRORS as error:
            self.outage.failed(error)
            return self.uncounted(expression)
        self.outage.succeeded()
        return self._result(item, count, seconds_left)

    def can_guard(self, cache: Cache) -> bool:
        """Whether `hit_guarded` can read this cache's entries: the cache is the Redis
        one on the limiter's own client (Platform builds both from one client and one
        key prefix), and the store is not in an outage."""
        windows = self._windows
        return (
            isinstance(windows, _RedisWindows)
            and isinstance(cache, RedisCache)
            and cache.client is windows.client
            and windows.key_prefix == cache.prefix + "rl:"
            and not self.outage.active
        )

    async def hit_guarded(
        self,
        cache: Cache,
        reads: Sequence[tuple[str, str]],
        expression: str,
        *identifiers: str,
    ) -> tuple[list[bytes | None], RateLimitResult | None]:
        """Read the cache entries `reads` names and, in the same round trip (one Lua
        script), count one hit against `expression` only if every entry meets its
        condition (`ANY`, `ABSENT`, or the `digest` of the value it must have). Returns
        the entries in order and the result, None when a condition failed (nothing was
        counted). Only where `can_guard(cache)`.

        Why: the abuse guard reads its rules and the address's block on every anonymous
        API request, and the per-address limit counts it; as two round trips that was
        about a quarter of the CPU of a cached product read (py-spy, issue 14), most of
        it redis-py's per-command work and the socket calls. Store errors are raised
        (after recording the limiter's outage): the caller fails open."""
        windows = self._windows
        if not isinstance(windows, _RedisWindows) or not isinstance(cache, RedisCache):
            raise TypeError("hit_guarded needs the Redis store (see can_guard)")
        item = parse_limit(expression)
        try:
            values, count, seconds_left = await windows.increment_guarded(
                [cache.prefix + key for key, _ in reads],
                [condition for _, condition in reads],
                item.key_for(*identifiers),
                item.get_expiry(),
            )
        except SHARED_STORE_ERRORS as error:
            self.outage.failed(error)
            raise
        self.outage.succeeded()
        result = None if count is None else self._result(item, count, seconds_left)
        return values, result

    async def clear(self, expression: str, *identifiers: str) -> None:
        await self._windows.clear(parse_limit(expression).key_for(*identifiers))
