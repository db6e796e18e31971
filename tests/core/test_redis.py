"""The Redis pool is bounded and blocking: a caller finding every connection in use
waits for one (up to the pool timeout) instead of failing at once. The hot commands' pipelined
connection (`HotPath`) answers each command with its own reply, and fails, never hangs,
when Redis is away."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import uvloop
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from marketplace.core.redis import HotPath, Script, create_redis, hot_path
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


# The pipelined connection of the hot commands (`HotPath`).


def _hot(url: str = REDIS_URL, **options: float) -> HotPath:
    found = hot_path(create_redis(url))
    assert found is not None
    for name, value in options.items():
        setattr(found, name, value)
    return found


async def test_concurrent_commands_get_their_own_replies_in_one_connection() -> None:
    require_service("Redis", REDIS_URL, 6379)
    hot = _hot()
    prefix = f"mp-test-{uuid.uuid4().hex}:"
    try:
        await asyncio.gather(
            *(hot.execute("SET", f"{prefix}{n}", str(n).encode(), "PX", 60_000) for n in range(50))
        )
        replies = await asyncio.gather(
            *(hot.execute("MGET", f"{prefix}{n}", f"{prefix}absent") for n in range(50)),
            hot.execute("GET", f"{prefix}7"),
        )
        assert replies[:50] == [[str(n).encode(), None] for n in range(50)]
        assert replies[50] == b"7"
        with pytest.raises(ResponseError):  # an error reply fails its own command only
            await hot.execute("INCR", f"{prefix}7", "extra")
        assert await hot.execute("GET", f"{prefix}8") == b"8"
        ids = await asyncio.gather(*(hot.execute("CLIENT", "ID") for _ in range(20)))
        assert len(set(ids)) == 1  # all on one connection
    finally:
        await hot.execute("DEL", *(f"{prefix}{n}" for n in range(50)))
        await hot.close()


def test_the_hot_path_works_on_uvloop_as_the_service_runs_it() -> None:
    """`marketplace serve` runs uvicorn on uvloop, whose transports are its own classes."""
    require_service("Redis", REDIS_URL, 6379)
    key = f"mp-test-{uuid.uuid4().hex}:value"

    async def on_uvloop() -> list[object]:
        hot = _hot()
        try:
            return [
                await hot.execute("SET", key, b"v", "PX", 60_000),
                *await asyncio.gather(hot.execute("GET", key), hot.execute("DEL", key)),
            ]
        finally:
            await hot.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(asyncio.wait_for(on_uvloop(), 5)) == [b"OK", b"v", 1]


async def test_a_caller_that_gives_up_leaves_the_others_replies_in_step() -> None:
    require_service("Redis", REDIS_URL, 6379)
    hot = _hot()
    key = f"mp-test-{uuid.uuid4().hex}:value"
    try:
        await hot.execute("SET", key, b"v", "PX", 60_000)
        gives_up = asyncio.create_task(hot.execute("GET", f"{key}:other"))
        after = asyncio.create_task(hot.execute("GET", key))
        await asyncio.sleep(0)
        gives_up.cancel()
        assert await after == b"v"
        assert await hot.execute("GET", key) == b"v"
    finally:
        await hot.close()


async def test_a_script_unknown_to_the_server_is_sent_once_by_its_source() -> None:
    require_service("Redis", REDIS_URL, 6379)
    hot = _hot()
    script = Script(f"-- {uuid.uuid4().hex}\nreturn {{ARGV[1], KEYS[1]}}")
    try:
        assert await hot.execute("SCRIPT", "EXISTS", script.sha) == [0]
        assert await hot.evalsha(script, ["k"], [7]) == [b"7", b"k"]
        assert await hot.execute("SCRIPT", "EXISTS", script.sha) == [1]
        assert await hot.evalsha(script, ["k2"], [8]) == [b"8", b"k2"]
    finally:
        await hot.close()


async def test_nothing_listening_fails_with_redis_connection_error() -> None:
    hot = _hot("redis://127.0.0.1:1/0")
    with pytest.raises(RedisConnectionError):
        await hot.execute("GET", "anything")
    with pytest.raises(RedisConnectionError):  # tried again, not remembered as connected
        await hot.execute("GET", "anything")


@asynccontextmanager
async def _server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()


async def test_a_server_that_answers_nothing_fails_the_waiting_commands_after_the_timeout() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # reads, never answers

    async with _server(silent) as url:
        hot = _hot(url, timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(
            hot.execute("GET", "a"), hot.execute("GET", "b"), return_exceptions=True
        )
        assert [type(result) for result in results] == [RedisTimeoutError, RedisTimeoutError]
        assert 0.3 <= loop.time() - started < 2.0
        for writer in connections:
            writer.close()


async def test_a_lost_connection_fails_its_commands_and_the_next_command_connects_again() -> None:
    answered: list[int] = []

    async def hangs_up_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered.append(len(answered))
        await reader.read(1)
        if len(answered) == 1:
            writer.close()  # the first connection: hung up on with the command unanswered
            return
        await reader.readuntil(b"\r\n")
        writer.write(b"$2\r\nok\r\n")
        await writer.drain()
        await reader.read()

    async with _server(hangs_up_first) as url:
        hot = _hot(url)
        with pytest.raises(RedisConnectionError):
            await hot.execute("GET", "a")
        assert await hot.execute("GET", "a") == b"ok"
        assert len(answered) == 2
        await hot.close()
