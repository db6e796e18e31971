"""Round trips to Redis at the edge, counted on a real Redis (its MONITOR stream).

The address's verdict (rules and block) and its per-address limit are one round trip
(`RateLimiter.hit_guarded`): issue 14 measured each round trip at about an eighth of the
CPU of a cached product read. Counting in that trip must not change what is counted:
only a request the verdict lets through, under the rules the verdict applied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from marketplace.abuse.service import record_offence
from marketplace.core.cache import MemoryCache, PrefetchedCache
from marketplace.settings import Settings
from tests.abuse.conftest import (
    Sessions,
    client_from,
    running,
    signed_in_user,
)
from tests.abuse.test_ip_rules import add_rule
from tests.conftest import REDIS_URL
from tests.factories import platform_of

PUBLIC = "/api/openapi.json"  # counted per address, touches nothing else in Redis


@asynccontextmanager
async def commands_sent(prefix: str) -> AsyncIterator[list[list[str]]]:
    """The commands clients send that name a key under `prefix` (not those a Lua
    script runs inside Redis), from entering the block until leaving it."""
    seen: list[list[str]] = []
    sentinel = f"{prefix}sentinel:{uuid.uuid4().hex}"
    redis = Redis.from_url(REDIS_URL)
    try:
        async with redis.monitor() as monitor:
            yield seen
            async with Redis.from_url(REDIS_URL) as other:
                await other.get(sentinel)

            async def collect() -> None:
                async for entry in monitor.listen():
                    command = str(entry["command"])
                    if sentinel in command:
                        return
                    if prefix in command and entry.get("client_type") != "lua":
                        seen.append(command.split())

            await asyncio.wait_for(collect(), 10)
    finally:
        await redis.aclose()


async def test_an_anonymous_api_request_makes_one_round_trip_for_its_address_and_limit(
    abuse_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    settings = abuse_settings(rate_limit_anonymous="50/hour")
    async with running(settings) as app, client_from(app, "198.51.100.21") as visitor:
        assert (await visitor.get(PUBLIC)).status_code == 200  # rules cached, script loaded
        async with commands_sent(redis_prefix) as seen:
            responses = [await visitor.get(PUBLIC) for _ in range(3)]
    assert [response.headers["ratelimit-remaining"] for response in responses] == [
        "48",
        "47",
        "46",
    ]
    assert [command[0] for command in seen] == ["EVALSHA"] * 3


async def test_rules_changed_elsewhere_are_applied_before_the_address_is_counted(
    abuse_settings: Callable[..., Settings], sessions: Sessions, redis_prefix: str
) -> None:
    """An instance holding older rules must not count an address that the new rules
    allow: the round trip counts only when the cached rules are the ones it holds."""
    settings = abuse_settings(rate_limit_anonymous="50/hour")
    async with running(settings) as first, running(settings) as second:
        async with client_from(first, "198.51.100.22") as visitor:
            assert (await visitor.get(PUBLIC)).headers["ratelimit-remaining"] == "49"
        staff = await signed_in_user(second, sessions, is_staff=True)
        async with client_from(second) as admin:
            await add_rule(admin, staff, "198.51.100.22", "allow")
            await admin.get(PUBLIC)  # the second instance caches the new rules
        async with client_from(first, "198.51.100.22") as visitor:
            allowed = await visitor.get(PUBLIC)  # the first still holds the old ones
        assert allowed.status_code == 200
        assert "ratelimit-remaining" not in allowed.headers
        async with Redis.from_url(REDIS_URL) as redis:
            counters = [
                key async for key in redis.scan_iter(match=f"{redis_prefix}rl:*198.51.100.22*")
            ]
            assert [await redis.get(key) for key in counters] == [b"1"]


async def test_a_blocked_address_is_refused_and_not_counted(
    abuse_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    settings: Any = abuse_settings(rate_limit_anonymous="50/hour", ip_autoblock_threshold=2)
    async with running(settings) as app, client_from(app, "198.51.100.23") as visitor:
        assert (await visitor.get(PUBLIC)).headers["ratelimit-remaining"] == "49"
        for _ in range(settings.ip_autoblock_threshold):
            await record_offence(platform_of(app), "198.51.100.23", "auth_failure")
        refused = [await visitor.get(PUBLIC) for _ in range(3)]
        assert [response.status_code for response in refused] == [403] * 3
        async with Redis.from_url(REDIS_URL) as redis:
            keys = [
                key async for key in redis.scan_iter(match=f"{redis_prefix}rl:LIMITER/ip/*.23/*")
            ]
            assert [await redis.get(key) for key in keys] == [b"1"]


async def test_a_cached_anonymous_search_reads_its_generation_in_the_same_round_trip(
    abuse_settings: Callable[..., Settings], redis_prefix: str
) -> None:
    """The public cache's first read (the search entries' generation) goes in the edge's
    round trip; only the page itself is read after it."""
    search = "/api/v1/products?q=zzroundtripzz"
    settings = abuse_settings(rate_limit_anonymous="50/hour")
    async with running(settings) as app, client_from(app, "198.51.100.24") as visitor:
        first = await visitor.get(search)  # fills the page's entry
        async with commands_sent(redis_prefix) as seen:
            again = await visitor.get(search)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["ratelimit-remaining"] == "48"
    assert [command[0] for command in seen] == ["EVALSHA", "GET"]
    assert f"{redis_prefix}catalog:search:generation" in seen[0]
    assert seen[1][1].startswith(f"{redis_prefix}catalog:search:page:")


async def test_a_prefetched_entry_answers_the_first_read_only() -> None:
    cache = MemoryCache()
    await cache.set("k", b"now")
    prefetched = PrefetchedCache(cache, "k", b"then")
    assert await prefetched.get("k") == b"then"
    assert await prefetched.get("k") == b"now"
    written = PrefetchedCache(cache, "k", b"then")
    await written.set("k", b"newer")
    assert await written.get("k") == b"newer"
    deleted = PrefetchedCache(cache, "k", b"then")
    await deleted.delete("k")
    assert await deleted.get("k") is None
    assert await PrefetchedCache(cache, "k", None).get("other") is None
