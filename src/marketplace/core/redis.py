"""The shared Redis connection pool, when REDIS_URL is configured, and the pipelined
connection the hot commands take (`HotPath`).

Bounded, and blocking: at most `max_connections` connections to Redis per process, and
a caller that finds them all in use waits for one up to `pool_timeout` seconds instead
of failing at once. redis-py's default pool raised "Too many connections" the moment it
ran dry: at 1,000 client connections on two workers its 64 connections ran out and
18,700 cache reads fell through to the database (issue 14), whose pool then timed out,
and the rate limits failed open. With the load shedder in front (at most
`MAX_REQUESTS_IN_FLIGHT` requests per worker, each using one Redis connection at a
time), the pool is sized to the requests in flight plus the background work; the wait
is the safety net, and an error after it is a bounded, logged fall-back (cache miss,
rate limit failing open), never a hang.

The commands every request sends (the cache's GET, MGET and SET, the rate limits'
scripts) do not go through that pool: see `HotPath`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import weakref
from typing import Any, Final, cast

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


def create_redis(url: str, *, max_connections: int = 96, pool_timeout: float = 1.0) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )
    # The client owns the pool: closing it (`Cache.close`) closes the pool's connections.
    return Redis.from_pool(pool)


class _Replies(asyncio.Protocol):
    """One connection's replies, handed to the waiting commands in the order sent
    (Redis answers a connection's commands in order)."""

    def __init__(self, owner: HotPath) -> None:
        self.owner = owner
        self.reader = hiredis.Reader(protocolError=RedisConnectionError, replyError=ResponseError)
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.last_reply = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's is not an `asyncio.Transport` subclass).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.last_reply = self.owner.loop_time()
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        while True:
            try:
                reply = reader.gets()
            except RedisConnectionError as error:  # not the protocol: nothing else is safe
                self.abort(error)
                return
            if reply is False:
                return
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self.abort(RedisConnectionError("Redis sent a reply no command waits for"))
                return
            future = waiting.popleft()
            if future.done():  # its caller gave up (cancelled): the reply is dropped
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def abort(self, error: Exception) -> None:
        self.fail_waiting(error)
        if self.transport is not None:
            self.transport.abort()

    def fail_waiting(self, error: Exception) -> None:
        self.owner.lost(self)
        waiting = self.waiting
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail_waiting(RedisConnectionError(f"Connection to Redis lost: {exc!r}"))


class HotPath:
    """One connection per process for the commands every request sends, pipelined: the
    commands of all the requests in flight are written together once per turn of the
    event loop, and each reply goes to its command's future in order.

    Why (issue 14, measured): through redis-py's pool a command cost 55-80 µs of CPU
    (pool checkout and release, `asyncio.timeout` around each read and write, its
    observability hooks, a socket write per command), the largest phase of every cached
    read (py-spy: 0.09-0.45 ms per request, three to four commands). Here it is 3 µs at
    16 commands in flight and 14 µs one at a time (a loop of MGET and EVALSHA against the
    same server on uvloop; the per-path figures are in bench/README.md, "11."). Packing
    and parsing are hiredis's (C). What is left is the socket write itself (one per turn
    of the loop, not per command).

    Only short commands go here (GET, MGET, SET, EVALSHA of the rate limits' scripts):
    one slow command would delay every command behind it. Everything else (deletions in
    bulk, pub/sub, health checks) keeps the pool.

    Failures are redis-py's exceptions, so that callers catch them as before (cache miss,
    rate limit failing open): the connection refused or lost fails every command waiting
    on it with `ConnectionError`, and the next command connects again; a server that
    answers nothing for `timeout` seconds while commands wait (as the pool's
    `socket_timeout`) drops the connection and fails them with `TimeoutError`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 2.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        setup: list[tuple[Any, ...]] = []
        if password is not None:
            setup.append(("AUTH", username, password) if username else ("AUTH", password))
        if db:
            setup.append(("SELECT", db))
        self._setup = tuple(setup)
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[_Replies] | None = None
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self._watchdog: asyncio.TimerHandle | None = None

    def loop_time(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def lost(self, replies: _Replies) -> None:
        if self._replies is replies:
            self._replies = None
            self._outgoing.clear()

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, replies = await loop.create_connection(
                    lambda: _Replies(self), self.host, self.port
                )
                for command in self._setup:
                    future = loop.create_future()
                    replies.waiting.append(future)
                    assert replies.transport is not None
                    replies.transport.write(hiredis.pack_command(command))
                    await future
        except TimeoutError as error:
            raise RedisTimeoutError(f"Timeout connecting to Redis at {self.host}") from error
        except OSError as error:
            raise RedisConnectionError(f"Error connecting to Redis: {error!r}") from error
        return replies

    async def _connected(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # another event loop (tests): start over on this one
            self._drop()
            self._loop = loop
        if self._connecting is None:
            # Shared by the commands that arrive meanwhile; shielded so that one caller
            # giving up does not fail the others.
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            replies = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        if self._replies is None:
            self._replies = replies
            replies.last_reply = loop.time()
        return self._replies

    def _drop(self) -> None:
        replies, self._replies = self._replies, None
        self._connecting = None
        self._outgoing.clear()
        self._flush_scheduled = False
        self._watchdog = None
        if replies is not None and replies.transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is closed already
                replies.transport.abort()

    async def execute(self, *args: Any) -> Any:
        """Send one command; its reply (an error reply raises `ResponseError`)."""
        replies = self._replies
        if replies is None or self._loop is not asyncio.get_running_loop():
            replies = await self._connected()
        loop = self._loop
        assert loop is not None
        future = loop.create_future()
        if not replies.waiting:
            replies.last_reply = loop.time()  # the timeout counts from here
        replies.waiting.append(future)
        self._outgoing.append(hiredis.pack_command(args))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.timeout, self._check)
        return await future

    def _flush(self) -> None:
        # What is outgoing is always for the current connection: losing one fails its
        # commands and clears what it had not sent yet (`lost`).
        self._flush_scheduled = False
        outgoing, self._outgoing = self._outgoing, []
        replies = self._replies
        if replies is not None and replies.transport is not None and outgoing:
            replies.transport.write(b"".join(outgoing))

    def _check(self) -> None:
        """The watchdog: while commands wait, Redis must answer within `timeout`."""
        self._watchdog = None
        replies = self._replies
        if replies is None or not replies.waiting:
            return
        assert self._loop is not None
        silent = self._loop.time() - replies.last_reply
        if silent >= self.timeout:
            replies.abort(RedisTimeoutError(f"Redis answered nothing for {silent:.1f} s"))
            return
        self._watchdog = self._loop.call_later(self.timeout - silent, self._check)

    async def evalsha(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        """Run a script by its digest; the first run on a server that does not know it
        yet sends its source (EVAL), which the server keeps for the next ones."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ResponseError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
            return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    async def close(self) -> None:
        self._drop()


class Script:
    """A Lua script's source and digest, for `HotPath.evalsha`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


# One per client: the cache and the rate limits share the client, and so its hot path.
_HOT_PATHS: Final[weakref.WeakKeyDictionary[Redis, HotPath | None]] = weakref.WeakKeyDictionary()


def hot_path(client: Redis) -> HotPath | None:
    """The client's `HotPath`, None when its connections are not plain TCP ones (TLS, a
    Unix socket, a credential provider): those keep redis-py for every command."""
    if client in _HOT_PATHS:
        return _HOT_PATHS[client]
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    found: HotPath | None = None
    if pool.connection_class is Connection and kwargs.get("credential_provider") is None:
        found = HotPath(
            kwargs.get("host", "localhost"),
            int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0)),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            timeout=kwargs.get("socket_timeout") or 2.0,
            connect_timeout=kwargs.get("socket_connect_timeout") or 2.0,
        )
    _HOT_PATHS[client] = found
    return found
