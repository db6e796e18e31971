"""Key-value cache: Redis when configured, an in-process store otherwise.

Both expose the same small interface so that callers never branch on the mode.

`invalidate` is the one way a write retires cached entries: deleted at once (so that
the writer reads its own write) and again after its transaction commits, because a
reader that loaded the old rows between the first delete and the commit may have put
them back. The catalog's entries and identity's cached principals both use it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.logging import get_logger
from marketplace.core.redis import hot_path

logger = get_logger(__name__)

# Failures of the cache that readers and writers ride out (logged, never raised).
CACHE_ERRORS: Final = (RedisError, OSError, asyncio.TimeoutError)


class Cache(Protocol):
    mode: str

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, *keys: str) -> list[bytes | None]:
        """Several keys in one round trip (Redis MGET), in the order given."""
        ...

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def take(self, key: str) -> bytes | None:
        """Read and delete in one step (Redis GETDEL): of several concurrent takers of a
        key, exactly one gets its value (single-use secrets)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class RedisCache:
    mode = "external"

    def __init__(self, client: Redis, prefix: str = "mp:") -> None:
        self.client = client
        self.prefix = prefix
        # Reads and writes of single entries, the commands of every request, take the
        # pipelined connection (`core.redis.HotPath`: a twentieth of redis-py's CPU per
        # command); the client's pool serves the rest.
        self.hot = hot_path(client)

    async def get(self, key: str) -> bytes | None:
        if self.hot is not None:
            found: bytes | None = await self.hot.execute("GET", self.prefix + key)
            return found
        value = await self.client.get(self.prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def get_many(self, *keys: str) -> list[bytes | None]:
        prefix = self.prefix
        if self.hot is not None:
            found: list[bytes | None] = await self.hot.execute(
                "MGET", *[prefix + key for key in keys]
            )
            return found
        values = await self.client.mget([prefix + key for key in keys])
        return [
            value if value is None or isinstance(value, bytes) else str(value).encode()
            for value in values
        ]

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        expiry = int(ttl_seconds * 1000) if ttl_seconds else None
        if self.hot is not None:
            if expiry is None:
                await self.hot.execute("SET", self.prefix + key, value)
            else:
                await self.hot.execute("SET", self.prefix + key, value, "PX", expiry)
            return
        await self.client.set(self.prefix + key, value, px=expiry)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*(self.prefix + key for key in keys))

    async def take(self, key: str) -> bytes | None:
        value = await self.client.getdel(self.prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        if self.hot is not None:
            await self.hot.close()
        await self.client.aclose()


class MemoryCache:
    """Single-process fallback; correct only while one API process runs."""

    mode = "embedded"

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[bytes, float | None]] = {}
        self.max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return value

    async def get_many(self, *keys: str) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        if len(self._entries) >= self.max_entries and key not in self._entries:
            # Evict the oldest insertion; dicts keep insertion order.
            self._entries.pop(next(iter(self._entries)))
        expires_at = time.monotonic() + ttl_seconds if ttl_seconds else None
        self._entries[key] = (value, expires_at)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def take(self, key: str) -> bytes | None:
        value = await self.get(key)
        self._entries.pop(key, None)
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class PrefetchedCache:
    """A cache with one entry already read (in the edge's round trip to Redis, along
    with the address's verdict and limit: `core/middleware/abuse.py`): the first read of
    that key is answered from it, everything else goes to the cache itself. Saves the
    public cache's lookup its own round trip (issue 14: about an eighth of the CPU of a
    cached product read, py-spy). Lives for one request."""

    def __init__(self, cache: Cache, key: str, value: bytes | None) -> None:
        self.cache = cache
        self.mode = cache.mode
        self._key: str | None = key
        self._value = value

    def _take_prefetched(self, key: str) -> tuple[bool, bytes | None]:
        if key != self._key:
            return False, None
        self._key = None  # once: a later read after a write must see the write
        return True, self._value

    async def get(self, key: str) -> bytes | None:
        found, value = self._take_prefetched(key)
        return value if found else await self.cache.get(key)

    async def get_many(self, *keys: str) -> list[bytes | None]:
        return await self.cache.get_many(*keys)

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        if key == self._key:
            self._key = None
        await self.cache.set(key, value, ttl_seconds)

    async def delete(self, *keys: str) -> None:
        if self._key in keys:
            self._key = None
        await self.cache.delete(*keys)

    async def take(self, key: str) -> bytes | None:
        if key == self._key:
            self._key = None
        return await self.cache.take(key)

    async def ping(self) -> None:
        await self.cache.ping()

    async def close(self) -> None:
        """The request's view only: the shared cache is closed by its owner."""


_DELETE_CHUNK: Final = 500
_PENDING_KEYS: Final = "cache.keys_after_commit"
_LISTENING: Final = "cache.listening"

# Deletions scheduled after commit; held so that they are not garbage-collected.
_after_commit_tasks: set[asyncio.Task[None]] = set()


async def _delete(cache: Cache, keys: Sequence[str]) -> None:
    try:
        for start in range(0, len(keys), _DELETE_CHUNK):
            await cache.delete(*keys[start : start + _DELETE_CHUNK])
    except CACHE_ERRORS as error:
        logger.error("cache.invalidation_failed", keys=len(keys), error=repr(error))


async def invalidate(session: AsyncSession, cache: Cache, keys: Iterable[str]) -> None:
    """Delete the entries now and again once the session's transaction commits. A cache
    that is down fails nothing: the failure is logged, the entries expire by their
    time-to-live."""
    unique = sorted(set(keys))
    if not unique:
        return
    await _delete(cache, unique)
    pending: set[str] = session.info.setdefault(_PENDING_KEYS, set())
    pending.update(unique)
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        _listen(session, cache)


def _listen(session: AsyncSession, cache: Cache) -> None:
    sync_session = session.sync_session

    @event.listens_for(sync_session, "after_commit")
    def _after_commit(_session: Any) -> None:
        keys = sorted(session.info.pop(_PENDING_KEYS, set()))
        if keys:
            _spawn(_delete(cache, keys))

    @event.listens_for(sync_session, "after_rollback")
    def _after_rollback(_session: Any) -> None:
        # The writes are undone; the entries deleted at once are simply refilled.
        session.info.pop(_PENDING_KEYS, None)


def _spawn(deletion: Coroutine[Any, Any, None]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # committed outside an event loop: nothing left to race with
        deletion.close()
        return
    task = loop.create_task(deletion)
    _after_commit_tasks.add(task)
    task.add_done_callback(_after_commit_tasks.discard)


async def drain() -> None:
    """Wait for the deletions scheduled after commits (tests, shutdown)."""
    while _after_commit_tasks:
        await asyncio.gather(*list(_after_commit_tasks))
