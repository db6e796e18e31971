"""Starts and stops the background work of a process: the outbox relay and its
publisher (RabbitMQ when AMQP_URL is set, in-process consumers otherwise), the
periodic jobs, and the webhook sender (in the worker when AMQP_URL is set, in the
API process otherwise: where the consumers run)."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CollectorRegistry

from marketplace.consumers import build_registry
from marketplace.core.broker import EVENTS_EXCHANGE, AmqpPublisher, Topology
from marketplace.core.consumers import ConsumerRegistry, InProcessPublisher
from marketplace.core.logging import get_logger
from marketplace.core.outbox import OutboxRelay, Publisher
from marketplace.core.platform import Platform
from marketplace.core.scheduler import Scheduler
from marketplace.jobs import build_jobs
from marketplace.webhooks.delivery import WebhookSender

logger = get_logger(__name__)


class EventDelivery:
    def __init__(
        self,
        platform: Platform,
        registry: ConsumerRegistry | None = None,
        *,
        send_webhooks: bool | None = None,
        metrics_registry: CollectorRegistry | None = None,
        exchange: str = EVENTS_EXCHANGE,
    ) -> None:
        self.platform = platform
        self.registry = registry or build_registry()
        settings = platform.settings
        self.publisher: Publisher
        if settings.amqp_url is not None:
            # The consumers' queues are declared before the first event goes out, so
            # events published before any worker ever started wait in them.
            self.publisher = AmqpPublisher(
                settings.amqp_url.get_secret_value(),
                topology=Topology(tuple(self.registry.all()), exchange),
                metrics_registry=metrics_registry,
            )
        else:
            self.publisher = InProcessPublisher(platform, self.registry)
        # The relay holds its partition locks (a transaction) while the publisher
        # works, and in-process consumers take pooled connections: the locks live on a
        # connection of their own, so that the relay never holds a pooled connection
        # while waiting for another, and requests cannot starve it of one.
        self.relay_database = platform.database.dedicated("relay")
        self.relay = OutboxRelay(
            self.relay_database,
            self.publisher,
            poll_interval_seconds=settings.outbox_poll_interval_seconds,
            metrics_registry=metrics_registry,
        )
        self.scheduler = Scheduler(platform, build_jobs())
        if send_webhooks is None:
            send_webhooks = settings.amqp_url is None
        self.webhooks = WebhookSender(platform) if send_webhooks else None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Wake the relay as soon as a transaction that wrote events commits.
        self.platform.database.after_commit_with_events = self.relay.wake
        self._task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        self.scheduler.start()
        if self.webhooks is not None:
            self.webhooks.start()
        logger.info("events.delivery_started", mode=self.publisher.mode)

    async def stop(self) -> None:
        self.platform.database.after_commit_with_events = None
        await self.scheduler.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        self.relay.stop()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self.publisher.close()
        await self.relay_database.dispose()
