"""The WebSocket connections of one API process and their bounded send queues.

The hub subscribes the bus to a user's channel while that user has a connection
here (staff also to the staff channel), and hands every message received to the
user's connections. A connection never buffers more than `queue_size` messages:
a client too slow to take them is disconnected with 1013 ("try again later") and
recovers what it missed by reconnecting and sending `resume`; memory stays bounded
whatever a client does.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson

from marketplace.core.bus import Bus, BusUnavailable, bus_for, staff_channel, user_channel
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

# WebSocket close codes.
NORMAL = 1000
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013

MAX_CONNECTIONS_PER_USER = 16
GAP_MESSAGE = orjson.dumps({"type": "gap"})


class Connection:
    """One open WebSocket: who it belongs to and what waits to be sent to it."""

    def __init__(self, user_id: uuid.UUID, is_staff: bool, queue_size: int) -> None:
        self.id = uuid.uuid4()
        self.user_id = user_id
        self.is_staff = is_staff
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self.close_code: int | None = None
        self.close_reason = ""
        self.close_requested = asyncio.Event()

    def offer(self, message: bytes) -> bool:
        """Queue a message without waiting; a full queue closes the connection."""
        if self.close_code is not None:
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.info("realtime.slow_client_disconnected", user_id=str(self.user_id))
            self.request_close(TRY_AGAIN_LATER, "too slow: reconnect and resume")
            return False
        return True

    def request_close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.close_requested.set()


class TooManyConnections(Exception):
    pass


class RealtimeHub:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.bus: Bus = bus_for(platform)
        self._by_user: dict[uuid.UUID, set[Connection]] = {}
        self._staff: set[Connection] = set()
        self._lock = asyncio.Lock()
        self._started = False

    @property
    def connection_count(self) -> int:
        return sum(len(connections) for connections in self._by_user.values())

    async def _start(self) -> None:
        if not self._started:
            await self.bus.start(self._dispatch, self._gap)
            self._started = True

    async def register(self, connection: Connection) -> None:
        """Raise `BusUnavailable` or `TooManyConnections` when it cannot be served."""
        async with self._lock:
            await self._start()
            connections = self._by_user.get(connection.user_id, set())
            if len(connections) >= MAX_CONNECTIONS_PER_USER:
                raise TooManyConnections()
            subscribed: list[str] = []
            try:
                if not connections:
                    await self.bus.subscribe(user_channel(self.bus, connection.user_id))
                    subscribed.append(user_channel(self.bus, connection.user_id))
                if connection.is_staff and not self._staff:
                    await self.bus.subscribe(staff_channel(self.bus))
            except BusUnavailable:
                for channel in subscribed:
                    await self.bus.unsubscribe(channel)
                raise
            connections.add(connection)
            self._by_user[connection.user_id] = connections
            if connection.is_staff:
                self._staff.add(connection)

    async def unregister(self, connection: Connection) -> None:
        async with self._lock:
            connections = self._by_user.get(connection.user_id)
            if connections is None or connection not in connections:
                return
            connections.discard(connection)
            if not connections:
                del self._by_user[connection.user_id]
                await self.bus.unsubscribe(user_channel(self.bus, connection.user_id))
            if connection in self._staff:
                self._staff.discard(connection)
                if not self._staff:
                    await self.bus.unsubscribe(staff_channel(self.bus))

    def _dispatch(self, channel: str, message: bytes) -> None:
        if channel == staff_channel(self.bus):
            targets: set[Connection] = self._staff
        else:
            user = channel.rsplit(":", 1)[-1]
            try:
                targets = self._by_user.get(uuid.UUID(user), set())
            except ValueError:
                return
        for connection in list(targets):
            connection.offer(message)

    def _gap(self) -> None:
        """The subscription was interrupted: tell every client to resume."""
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.offer(GAP_MESSAGE)

    def close_all(self, code: int, reason: str) -> None:
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.request_close(code, reason)

    async def close(self) -> None:
        self.close_all(GOING_AWAY, "server shutting down")
        await self.bus.close()
