"""RabbitMQ: connectivity for health checks and the outbox relay's publisher."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from marketplace.core.outbox import PublisherUnavailable

if TYPE_CHECKING:
    from marketplace.core.events import EventEnvelope


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


EVENTS_EXCHANGE = "marketplace.events"
# What a broker that cannot be reached, or goes away, raises.
_UNREACHABLE = (
    OSError,  # connection errors (AMQP's included) and timeouts
    aiormq.exceptions.AMQPChannelError,  # the channel closed under the publisher
    aiormq.exceptions.ChannelInvalidStateError,
)


class AmqpPublisher:
    """Publishes events to the topic exchange, persistent, with publisher confirms:
    `publish` returns only once RabbitMQ has taken responsibility for every message."""

    mode = "external"

    def __init__(self, url: str, timeout_seconds: float = 10.0) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ready(self) -> AbstractExchange:
        if (
            self._exchange is not None
            and self._channel is not None
            and not self._channel.is_closed
            and self._connection is not None
            and not self._connection.is_closed
        ):
            return self._exchange
        await self.close()
        self._connection = await aio_pika.connect(self.url, timeout=self.timeout_seconds)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        return self._exchange

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        confirmed = 0
        try:
            async with self._lock:
                exchange = await self._ready()
                for envelope in envelopes:
                    message = aio_pika.Message(
                        body=envelope.model_dump_json().encode(),
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=str(envelope.id),
                        type=envelope.type,
                        timestamp=envelope.occurred_at,
                        headers={"x-event-version": envelope.version},
                    )
                    # With confirms on, this awaits the broker's ack (or raises).
                    await asyncio.wait_for(
                        exchange.publish(message, routing_key=envelope.type),
                        self.timeout_seconds,
                    )
                    confirmed += 1
        except _UNREACHABLE as error:
            # Connecting, or the connection lost mid-way: the broker's fault, not the
            # events'; the relay retries (reconnecting) without counting it against them,
            # and marks the ones the broker confirmed, so that they are not sent twice.
            raise PublisherUnavailable(repr(error), published=confirmed) from error

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = None
        self._exchange = None
        if connection is not None and not connection.is_closed:
            await connection.close()
