"""The Redis pool is bounded and blocking: a caller finding every connection in use
waits for one (up to the pool timeout) instead of failing at once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from marketplace.core.redis import create_redis
from tests.conftest import REDIS_URL, require_service


def _key() -> str:
    return f"mp-test-{uuid.uuid4().hex}:empty-list"


async def test_a_caller_waits_for_a_busy_pool_instead_of_failing() -> None:
    require_service("Redis", REDIS_URL, 6379)
    redis = create_redis(REDIS_URL, max_connections=1, pool_timeout=5.0)
    try:
        # The pool's only connection, busy for 0.4 s.
        busy = asyncio.create_task(redis.blpop([_key()], timeout=0.4))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await redis.ping() is True
        assert loop.time() - started >= 0.2  # it waited for the connection to come back
        assert await busy is None
    finally:
        await redis.aclose()


async def test_the_wait_is_bounded_by_the_pool_timeout() -> None:
    require_service("Redis", REDIS_URL, 6379)
    redis = create_redis(REDIS_URL, max_connections=1, pool_timeout=0.1)
    try:
        busy = asyncio.create_task(redis.blpop([_key()], timeout=1))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RedisConnectionError):
            await redis.ping()
        assert loop.time() - started < 0.8
        await busy
    finally:
        await redis.aclose()
