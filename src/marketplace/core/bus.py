"""The live-message bus between processes: Redis pub/sub, in-process without Redis.

One channel per user (`<prefix>rt:user:<id>`) and one for staff (`<prefix>rt:staff`).
Publishers (the consumers, in whichever process runs them) resolve who is entitled
to a message when it is published, from current memberships, and publish it to
those users' channels; each API process subscribes only to the channels of the
users connected to it, so a process never even receives another tenant's messages,
and a member removed from a company stops receiving its events at once.

Messages are the JSON texts sent to clients as they are (`message`). Delivery is best
effort and at most once; clients recover what they missed with `resume` (see
`realtime/router.py`).

Machinery, in `core` because the notifications domain publishes on it as well as the
realtime domain that serves the WebSocket (and reads notifications to resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from marketplace.core.cache import RedisCache
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

Listener = Callable[[str, bytes], None]
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
RECONNECT_MAX_SECONDS = 10.0
BUS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def message(kind: str, data: Any = None) -> bytes:
    """A server message (`realtime/schemas.py` lists them); pydantic models in `data`
    are serialised as JSON."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    body: dict[str, Any] = {"type": kind}
    if data is not None:
        body["data"] = data
    return orjson.dumps(body)


class BusUnavailable(Exception):
    """The bus cannot subscribe now (Redis unreachable)."""


class Bus(Protocol):
    mode: str
    prefix: str

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish (channel, message) pairs, in order."""

    async def start(self, listener: Listener, on_gap: Callable[[], None]) -> None:
        """Start receiving: `listener(channel, message)` for subscribed channels;
        `on_gap()` after the subscription was broken and restored (messages may be lost)."""

    async def subscribe(self, channel: str) -> None:
        """Return once messages published to `channel` from now on are received."""

    async def unsubscribe(self, channel: str) -> None: ...

    async def close(self) -> None: ...


def user_channel(bus: Bus, user_id: uuid.UUID) -> str:
    return f"{bus.prefix}rt:user:{user_id}"


def staff_channel(bus: Bus) -> str:
    return f"{bus.prefix}rt:staff"


class InProcessBus:
    """No Redis: one process, publishers and connections meet here."""

    mode = "embedded"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._listener: Listener | None = None
        self._channels: set[str] = set()

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, message in messages:
            if self._listener is not None and channel in self._channels:
                self._listener(channel, message)

    async def start(self, listener: Listener, on_gap: Callable[[], None]) -> None:
        self._listener = listener

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def close(self) -> None:
        self._listener = None
        self._channels.clear()


class RedisBus:
    """Publishes on the platform's Redis pool; subscribes on a connection of its own
    (no read timeout: it idles between messages) that a reader task drains."""

    mode = "external"

    def __init__(self, publisher: Redis, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._publisher = publisher
        self._url = url
        # A channel of this process alone keeps the subscription open while no user is
        # connected, so the reader always has a connection to wait on.
        self._own_channel = f"{prefix}rt:process:{uuid.uuid4().hex}"
        # Named, so that an operator (or a test) can find it in CLIENT LIST.
        self.client_name = f"{prefix}realtime:{uuid.uuid4().hex[:12]}".replace(" ", "_")
        self._channels: set[str] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listener: Listener | None = None
        self._on_gap: Callable[[], None] = lambda: None
        self._closing = False

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        async with self._publisher.pipeline(transaction=False) as pipe:
            for channel, message in messages:
                pipe.publish(channel, message)
            await pipe.execute()

    async def start(self, listener: Listener, on_gap: Callable[[], None]) -> None:
        self._listener = listener
        self._on_gap = on_gap
        try:
            async with self._lock:
                await self._connect()
        except BUS_ERRORS as error:
            # Redis is down: subscriptions fail (BusUnavailable) until the reader
            # has reconnected.
            logger.warning("realtime.bus_unavailable", error=repr(error))
            await self._disconnect()
        self._reader = asyncio.create_task(self._read(), name="realtime-bus-reader")

    async def _connect(self) -> None:
        """A fresh subscriber connection, subscribed to every channel wanted."""
        await self._disconnect()
        self._client = Redis.from_url(
            self._url,
            socket_timeout=None,
            socket_connect_timeout=2.0,
            socket_keepalive=True,
            decode_responses=False,
            client_name=self.client_name,
        )
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self._own_channel, *sorted(self._channels))

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        with contextlib.suppress(*BUS_ERRORS):
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            if self._pubsub is None:
                raise BusUnavailable("the live-update bus is reconnecting")
            confirmed = asyncio.get_running_loop().create_future()
            self._confirmations[channel] = confirmed
            self._channels.add(channel)
            try:
                await self._pubsub.subscribe(channel)
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_SECONDS)
            except BUS_ERRORS as error:
                self._channels.discard(channel)
                raise BusUnavailable(repr(error)) from error
            finally:
                self._confirmations.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            if self._pubsub is not None:
                with contextlib.suppress(*BUS_ERRORS):
                    await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        backoff = 0.1
        while not self._closing:
            try:
                pubsub = self._pubsub
                if pubsub is None:
                    async with self._lock:
                        await self._connect()
                    logger.info("realtime.bus_reconnected")
                    self._on_gap()
                    continue
                message = await pubsub.get_message(timeout=1.0)
                backoff = 0.1
            except BUS_ERRORS as error:
                if self._closing:
                    return
                logger.warning("realtime.bus_failed", error=repr(error), retry_in=backoff)
                await self._disconnect()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message.get("channel"))
        kind = _text(message.get("type"))
        if kind == "subscribe":
            confirmed = self._confirmations.get(channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif kind == "message" and self._listener is not None and channel != self._own_channel:
            data = message.get("data")
            if isinstance(data, bytes):
                self._listener(channel, data)

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._disconnect()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# One bus per platform (process), shared by the consumers publishing in it and the
# hub of its WebSocket connections; it holds connections, not state.
_buses: weakref.WeakKeyDictionary[Platform, Bus] = weakref.WeakKeyDictionary()


def bus_for(platform: Platform) -> Bus:
    bus = _buses.get(platform)
    if bus is None:
        settings = platform.settings
        prefix = settings.redis_key_prefix
        if isinstance(platform.cache, RedisCache) and settings.redis_url is not None:
            bus = RedisBus(platform.cache.client, settings.redis_url.get_secret_value(), prefix)
        else:
            bus = InProcessBus(prefix)
        _buses[platform] = bus
    return bus
