"""Event consumers: named, idempotent handlers of domain events.

The same registry serves both delivery paths: the RabbitMQ worker (one durable
queue per consumer) and, with no broker configured, in-process dispatch by the
outbox relay. A handler runs in its own transaction together with its inbox row
(`processed_events`), so a redelivered event is recognised and skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.events import EventEnvelope
from marketplace.core.logging import get_logger
from marketplace.core.outbox import ProcessedEvent
from marketplace.core.platform import Platform

logger = get_logger(__name__)

Handler = Callable[[AsyncSession, Platform, EventEnvelope], Awaitable[None]]
ALL_EVENTS = "#"


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Handler
    # Event types it wants ("order.placed"), or ALL_EVENTS; also its AMQP bindings.
    event_types: frozenset[str] = field(default_factory=lambda: frozenset({ALL_EVENTS}))

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types


class ConsumerRegistry:
    def __init__(self, consumers: Sequence[Consumer] = ()) -> None:
        self._consumers: dict[str, Consumer] = {}
        for consumer in consumers:
            self.register(consumer)

    def register(self, consumer: Consumer) -> None:
        if consumer.name in self._consumers:
            raise ValueError(f"consumer {consumer.name!r} registered twice")
        self._consumers[consumer.name] = consumer

    def get(self, name: str) -> Consumer:
        return self._consumers[name]

    def all(self) -> list[Consumer]:
        return list(self._consumers.values())

    def for_event(self, event_type: str) -> list[Consumer]:
        return [consumer for consumer in self._consumers.values() if consumer.wants(event_type)]


async def handle_once(platform: Platform, consumer: Consumer, envelope: EventEnvelope) -> bool:
    """Run the handler unless this consumer already processed the event. True when it
    ran. The handler's writes and the inbox row commit together, or neither does."""
    async with platform.database.session_factory() as session, session.begin():
        inserted = await session.scalar(
            insert(ProcessedEvent)
            .values(consumer=consumer.name, event_id=envelope.id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        if inserted is None:
            return False
        await consumer.handler(session, platform, envelope)
    return True


class InProcessPublisher:
    """The embedded default: no broker, the relay hands events straight to the
    consumers. A failing consumer makes the publish fail, so the relay retries the
    event later; consumers that already handled it skip it through the inbox."""

    mode = "embedded"

    def __init__(self, platform: Platform, registry: ConsumerRegistry) -> None:
        self.platform = platform
        self.registry = registry

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        for envelope in envelopes:
            failures: list[Exception] = []
            for consumer in self.registry.for_event(envelope.type):
                try:
                    await handle_once(self.platform, consumer, envelope)
                except Exception as error:
                    logger.warning(
                        "consumer.failed",
                        consumer=consumer.name,
                        event_id=str(envelope.id),
                        type=envelope.type,
                        error=repr(error),
                    )
                    failures.append(error)
            if failures:
                raise ExceptionGroup("consumers failed", failures)

    async def close(self) -> None:
        return None
