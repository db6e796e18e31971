"""`marketplace worker`: runs the event consumers from RabbitMQ (and an outbox relay).

Per consumer: a durable queue `mp.<consumer>` bound to the events exchange for the
event types it wants, retry queues `mp.<consumer>.retry.<n>` whose messages expire
back into the main queue after a growing delay, and a dead-letter queue
`mp.<consumer>.dead` for messages that failed every try (`core.broker.Topology`, which
the publisher and `marketplace broker-setup` declare too). Acks are manual and sent
only after the handler's transaction committed (or the message was moved to a
retry/dead queue with a publisher confirm), so a worker killed mid-message gets the
message redelivered; the inbox makes that redelivery a no-op once handled.

Messages are handled in batches per consumer (`_Batches`): while a consumer's batch is
in its transaction, the messages delivered to it meanwhile (up to the prefetch) wait,
and go together in its next transaction (`core.consumers.handle_batch`: one inbox
statement, the consumer's batch handler, one commit). Alone, a message is a batch of
one, with no delay; under load the batches grow by themselves. Measured with
`bench/run` (order placement, 16 connections): one transaction per message and
consumer cost the worker about 2 ms of CPU per order on a quiet machine (four consumers
of `order.placed`, each BEGIN, inbox, its reads, COMMIT, and the pool opening extra
connections for 16 concurrent transactions); see bench/README.md. A batch that fails
is taken again message by message, so that only the failing message is retried or
dead-lettered. Stopping, a batch in its transaction finishes and the messages waiting
for the next one are left unacknowledged: the broker gives them back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from marketplace.core.broker import EVENTS_EXCHANGE, RETRY_DELAYS_SECONDS, Topology, queue_name
from marketplace.core.consumers import Consumer, ConsumerRegistry, handle_batch, handle_once
from marketplace.core.events import EventEnvelope
from marketplace.core.logging import get_logger
from marketplace.core.metrics import MetricsAccess, metrics_access
from marketplace.core.platform import Platform
from marketplace.event_delivery import EventDelivery

logger = get_logger(__name__)

ATTEMPT_HEADER = "x-attempt"
# The most messages delivered to a consumer unacknowledged (the channel's prefetch,
# per consumer), and so the most it takes in one transaction.
PREFETCH = 16


@dataclass
class _Batches:
    """A consumer's messages waiting for its next transaction, and whether one runs."""

    waiting: list[tuple[AbstractIncomingMessage, EventEnvelope]] = field(default_factory=list)
    running: bool = False


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.handled = Counter(
            "worker_messages_total",
            "Messages handled by consumer and outcome.",
            ["consumer", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "worker_handler_duration_seconds",
            "Handler duration by consumer.",
            ["consumer"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)


class Worker:
    def __init__(
        self,
        platform: Platform,
        registry: ConsumerRegistry,
        *,
        prefetch: int = PREFETCH,
        batch_size: int = PREFETCH,
        retry_delays: tuple[int, ...] = RETRY_DELAYS_SECONDS,
        run_relay: bool = True,
        exchange: str = EVENTS_EXCHANGE,
    ) -> None:
        if platform.settings.amqp_url is None:
            raise RuntimeError("the worker needs AMQP_URL (without it, events run in-process)")
        self.platform = platform
        self.registry = registry
        self.prefetch = prefetch
        self.batch_size = batch_size
        self._batches: dict[str, _Batches] = {}
        self._stopping = False
        self.retry_delays = retry_delays
        self.topology = Topology(tuple(registry.all()), exchange, retry_delays)
        self.metrics = WorkerMetrics()
        self.delivery = (
            EventDelivery(
                platform,
                registry,
                send_webhooks=True,
                metrics_registry=self.metrics.registry,
                exchange=self.topology.exchange,
            )
            if run_relay
            else None
        )
        self.started_at = time.monotonic()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queues: list[tuple[AbstractQueue, str]] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        assert self.platform.settings.amqp_url is not None
        self._connection = await aio_pika.connect_robust(
            self.platform.settings.amqp_url.get_secret_value()
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        _exchange, queues = await self.topology.declare(self._channel)
        for consumer in self.registry.all():
            queue = queues[consumer.name]
            tag = await queue.consume(self._on_message_for(consumer))
            self._queues.append((queue, tag))
        if self.delivery is not None:
            self.delivery.start()
        logger.info("worker.started", consumers=[c.name for c in self.registry.all()])

    def _on_message_for(self, consumer: Consumer) -> Any:
        async def on_message(message: AbstractIncomingMessage) -> None:
            self._in_flight += 1
            self._idle.clear()
            try:
                await self._handle(consumer, message)
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()

        return on_message

    async def _handle(self, consumer: Consumer, message: AbstractIncomingMessage) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(message.body)
        except ValidationError as error:
            logger.error("worker.malformed_message", consumer=consumer.name, error=repr(error))
            await self._move(message, f"{queue_name(consumer)}.dead", attempt=0)
            self.metrics.handled.labels(consumer.name, "malformed").inc()
            return
        batches = self._batches.setdefault(consumer.name, _Batches())
        batches.waiting.append((message, envelope))
        if batches.running:
            # The running batch's loop takes it next; this message stays in flight
            # (`_idle` is not set) until that loop, which counts as in flight, ends.
            return
        batches.running = True
        try:
            # Stopping, the messages not started are left unacknowledged: the broker
            # gives them back to the queue when the connection closes.
            while batches.waiting and not self._stopping:
                batch = batches.waiting[: self.batch_size]
                del batches.waiting[: len(batch)]
                await self._handle_batch(consumer, batch)
        finally:
            batches.running = False

    async def _handle_batch(
        self, consumer: Consumer, batch: list[tuple[AbstractIncomingMessage, EventEnvelope]]
    ) -> None:
        """The messages in one transaction, acknowledged once it committed; should it
        fail, one by one (`_handle_one`), so that the others are done and only the
        failing one is retried."""
        if len(batch) == 1:
            await self._handle_one(consumer, *batch[0])
            return
        started = time.perf_counter()
        try:
            ran = await handle_batch(self.platform, consumer, [envelope for _, envelope in batch])
        except Exception as error:
            logger.info(
                "worker.batch_failed", consumer=consumer.name, size=len(batch), error=repr(error)
            )
            for message, envelope in batch:
                await self._handle_one(consumer, message, envelope)
            return
        finally:
            self.metrics.duration.labels(consumer.name).observe(time.perf_counter() - started)
        for message, _ in batch:
            await message.ack()
        self.metrics.handled.labels(consumer.name, "handled").inc(ran)
        if ran < len(batch):
            self.metrics.handled.labels(consumer.name, "duplicate").inc(len(batch) - ran)

    async def _handle_one(
        self, consumer: Consumer, message: AbstractIncomingMessage, envelope: EventEnvelope
    ) -> None:
        started = time.perf_counter()
        try:
            ran = await handle_once(self.platform, consumer, envelope)
        except Exception as error:
            await self._retry_or_bury(consumer, message, envelope, error)
            return
        finally:
            self.metrics.duration.labels(consumer.name).observe(time.perf_counter() - started)
        await message.ack()
        self.metrics.handled.labels(consumer.name, "handled" if ran else "duplicate").inc()

    async def _retry_or_bury(
        self,
        consumer: Consumer,
        message: AbstractIncomingMessage,
        envelope: EventEnvelope,
        error: Exception,
    ) -> None:
        raw_attempt = (message.headers or {}).get(ATTEMPT_HEADER, 0)
        attempt = raw_attempt if isinstance(raw_attempt, int) else 0
        name = queue_name(consumer)
        if attempt < len(self.retry_delays):
            target = f"{name}.retry.{attempt}"
            outcome = "retried"
        else:
            target = f"{name}.dead"
            outcome = "dead"
        logger.warning(
            "worker.handler_failed",
            consumer=consumer.name,
            event_id=str(envelope.id),
            type=envelope.type,
            attempt=attempt + 1,
            moved_to=target,
            error=repr(error),
        )
        await self._move(message, target, attempt=attempt + 1)
        self.metrics.handled.labels(consumer.name, outcome).inc()

    async def _move(self, message: AbstractIncomingMessage, queue: str, *, attempt: int) -> None:
        """Copy to another queue (confirmed), then ack the original: never lost."""
        assert self._channel is not None
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        copy = aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            headers=headers,
        )
        await self._channel.default_exchange.publish(copy, routing_key=queue)
        await message.ack()

    async def stop(self, timeout_seconds: float = 30) -> None:
        """Stop taking messages, let in-flight handlers finish, close everything."""
        self._stopping = True
        for queue, tag in self._queues:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._queues.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_seconds)
        if self.delivery is not None:
            await self.delivery.stop()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        logger.info("worker.stopped")

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    def health_body(self) -> tuple[int, bytes, str]:
        body = {
            "status": "ok" if self.is_connected else "down",
            "broker": "connected" if self.is_connected else "disconnected",
            "in_flight": self._in_flight,
            "uptime_seconds": round(time.monotonic() - self.started_at, 3),
        }
        return (200 if self.is_connected else 503), json.dumps(body).encode(), "application/json"

    async def serve_health(self, host: str, port: int) -> asyncio.Server:
        """A minimal HTTP endpoint: `GET /health` and `GET /metrics` for orchestrators."""

        async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request_line = await asyncio.wait_for(reader.readline(), 5)
                authorization = None
                while (line := await asyncio.wait_for(reader.readline(), 5)) not in (
                    b"\r\n",
                    b"\n",
                    b"",
                ):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "authorization":
                        authorization = value.strip()
                parts = request_line.decode("latin-1").split()
                path = parts[1] if len(parts) > 1 else "/"
                extra_headers = ""
                access = metrics_access(self.platform.settings, authorization)
                if path == "/health":
                    status, body, content_type = self.health_body()
                elif path == "/metrics" and access is MetricsAccess.ALLOWED:
                    status, body, content_type = (
                        200,
                        generate_latest(self.metrics.registry),
                        CONTENT_TYPE_LATEST,
                    )
                elif path == "/metrics" and access is MetricsAccess.UNAUTHENTICATED:
                    status, body, content_type = 401, b"unauthenticated", "text/plain"
                    extra_headers = 'WWW-Authenticate: Bearer realm="metrics"\r\n'
                else:
                    status, body, content_type = 404, b"not found", "text/plain"
                reason = {
                    200: "OK",
                    401: "Unauthorized",
                    404: "Not Found",
                    503: "Service Unavailable",
                }[status]
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                    f"{extra_headers}Content-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            except (TimeoutError, ConnectionError):
                pass
            finally:
                writer.close()

        return await asyncio.start_server(respond, host, port)


async def run_worker(
    platform: Platform, registry: ConsumerRegistry, health_host: str, health_port: int
) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully."""
    worker = Worker(platform, registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await worker.start()
    server = await worker.serve_health(health_host, health_port)
    try:
        await stop.wait()
    finally:
        server.close()
        await worker.stop()
