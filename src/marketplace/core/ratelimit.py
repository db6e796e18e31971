"""Rate limiting with the `limits` library: Redis storage when configured (shared by
every process and instance), in-process memory otherwise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import Redis

from marketplace.core.errors import RateLimited


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_after_seconds, 1))
        return headers

    def raise_if_exceeded(self) -> None:
        if not self.allowed:
            raise RateLimited(headers=self.headers(), retry_after=max(self.reset_after_seconds, 1))


@cache
def parse_limit(expression: str) -> RateLimitItem:
    return parse(expression)


class RateLimiter:
    def __init__(self, storage: Storage, mode: str) -> None:
        self.storage = storage
        self.mode = mode
        self._strategy = FixedWindowRateLimiter(storage)

    @classmethod
    def for_redis(cls, redis_url: str, client: Redis, key_prefix: str) -> RateLimiter:
        """Shares the client's connection pool, which the cache closes at shutdown."""
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        storage = RedisStorage(
            uri,
            implementation="redispy",
            key_prefix=key_prefix + "rl",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]
        )
        return cls(storage, "external")

    @classmethod
    def in_memory(cls) -> RateLimiter:
        return cls(MemoryStorage(), "embedded")

    async def hit(self, expression: str, *identifiers: str, cost: int = 1) -> RateLimitResult:
        """Count one request against `expression` (e.g. "5/minute") for these identifiers."""
        item = parse_limit(expression)
        allowed = await self._strategy.hit(item, *identifiers, cost=cost)
        stats = await self._strategy.get_window_stats(item, *identifiers)
        return RateLimitResult(
            allowed=allowed,
            limit=item.amount,
            remaining=max(stats.remaining, 0),
            reset_after_seconds=max(math.ceil(stats.reset_time - time.time()), 0),
        )

    async def clear(self, expression: str, *identifiers: str) -> None:
        await self._strategy.clear(parse_limit(expression), *identifiers)
