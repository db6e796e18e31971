"""RabbitMQ connectivity for health checks; the outbox relay builds on it later."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractConnection


class BrokerProbe:
    """Keeps one connection open and reconnects on demand when it was lost."""

    mode = "external"

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self._connection: AbstractConnection | None = None
        self._lock = asyncio.Lock()

    async def ping(self) -> None:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect(self.url, timeout=self.timeout_seconds)
            channel = await self._connection.channel()
            await channel.close()

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
        self._connection = None
