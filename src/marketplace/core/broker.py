"""RabbitMQ: connectivity for health checks, the topology of the events, and the outbox
relay's publisher."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue
from prometheus_client import CollectorRegistry, Counter

from marketplace.core.logging import get_logger
from marketplace.core.outbox import EventsUnroutable, PublisherUnavailable

if TYPE_CHECKING:
    from marketplace.core.consumers import Consumer
    from marketplace.core.events import EventEnvelope

logger = get_logger(__name__)


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
RETRY_DELAYS_SECONDS = (1, 5, 30, 120, 600)


def queue_name(consumer: Consumer) -> str:
    return f"mp.{consumer.name}"


@dataclass(frozen=True)
class Topology:
    """The topic exchange of the events and, per consumer, a durable queue bound to the
    event types it wants (`#`, the topic wildcard, for all), retry queues whose messages
    expire back into it after a growing delay, and a dead-letter queue.

    Declared, idempotently and with the same arguments, by every side: the relay's
    publisher before its first publish, the worker before it consumes, and `marketplace
    broker-setup` at deploy. So whichever starts first, an event is never published into
    an exchange with no queue for it (RabbitMQ would drop it)."""

    consumers: tuple[Consumer, ...] = ()
    exchange: str = EVENTS_EXCHANGE
    retry_delays: tuple[int, ...] = RETRY_DELAYS_SECONDS

    async def declare(
        self, channel: AbstractChannel, *, with_retry_queues: bool = True
    ) -> tuple[AbstractExchange, dict[str, AbstractQueue]]:
        """The exchange and each consumer's queue (by consumer name). The publisher
        leaves out the retry and dead-letter queues: only the worker moves messages
        there, and it declares them with its own delays."""
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queues: dict[str, AbstractQueue] = {}
        for consumer in self.consumers:
            name = queue_name(consumer)
            queue = await channel.declare_queue(name, durable=True)
            for event_type in sorted(consumer.event_types):
                await queue.bind(exchange, routing_key=event_type)
            queues[consumer.name] = queue
            if not with_retry_queues:
                continue
            for index, delay in enumerate(self.retry_delays):
                await channel.declare_queue(
                    f"{name}.retry.{index}",
                    durable=True,
                    arguments={
                        "x-message-ttl": delay * 1000,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": name,
                    },
                )
            await channel.declare_queue(f"{name}.dead", durable=True)
        return exchange, queues


# What a broker that cannot be reached, or goes away, raises.
_UNREACHABLE = (
    OSError,  # connection errors (AMQP's included) and timeouts
    aiormq.exceptions.AMQPChannelError,  # the channel closed under the publisher
    aiormq.exceptions.ChannelInvalidStateError,
)


class AmqpPublisher:
    """Publishes events to the topic exchange, persistent, mandatory, with publisher
    confirms: `publish` returns only once RabbitMQ has taken responsibility for every
    message, each routed to at least one queue. It declares `topology` on connecting, so
    its events have queues even before any worker ever started. A message the broker
    returns as unroutable is logged, counted (`events_unroutable_total`) and left
    unpublished in the outbox, to go again once there is a queue for it."""

    mode = "external"

    def __init__(
        self,
        url: str,
        timeout_seconds: float = 10.0,
        *,
        topology: Topology | None = None,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.topology = topology or Topology()
        self.unroutable = Counter(
            "events_unroutable_total",
            "Events the broker returned because no queue was bound for them, by type.",
            ["type"],
            registry=metrics_registry or CollectorRegistry(),
        )
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
        # A returned (unroutable) message raises instead of passing as confirmed.
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange, _queues = await self.topology.declare(
            self._channel, with_retry_queues=False
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
                    try:
                        await asyncio.wait_for(
                            exchange.publish(message, routing_key=envelope.type, mandatory=True),
                            self.timeout_seconds,
                        )
                    except aiormq.exceptions.PublishError as error:
                        raise self._unroutable(envelope, confirmed) from error
                    confirmed += 1
        except EventsUnroutable:
            # Connect afresh next time, declaring the topology again: a queue deleted
            # under a running publisher comes back.
            await self.close()
            raise
        except _UNREACHABLE as error:
            # Connecting, or the connection lost mid-way: the broker's fault, not the
            # events'; the relay retries (reconnecting) without counting it against them,
            # and marks the ones the broker confirmed, so that they are not sent twice.
            raise PublisherUnavailable(repr(error), published=confirmed) from error

    def _unroutable(self, envelope: EventEnvelope, confirmed: int) -> EventsUnroutable:
        logger.error(
            "outbox.event_unroutable",
            event_id=str(envelope.id),
            type=envelope.type,
            exchange=self.topology.exchange,
        )
        self.unroutable.labels(type=envelope.type).inc()
        return EventsUnroutable(
            f"no queue is bound for {envelope.type} on {self.topology.exchange}",
            published=confirmed,
        )

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = None
        self._exchange = None
        if connection is not None and not connection.is_closed:
            await connection.close()
