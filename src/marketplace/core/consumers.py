"""Event consumers: named, idempotent handlers of domain events.

The same registry serves both delivery paths: the RabbitMQ worker (one durable
queue per consumer) and, with no broker configured, in-process dispatch by the
outbox relay. A handler runs in a transaction together with its inbox row
(`processed_events`), so a redelivered event is recognised and skipped. In-process,
a consumer takes each relay batch in one transaction (`handle_batch`): one inbox
statement and one commit per batch instead of per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ARRAY, String, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.driver import DriverStatement
from marketplace.core.events import EventEnvelope
from marketplace.core.logging import get_logger
from marketplace.core.outbox import ProcessedEvent
from marketplace.core.platform import Platform

logger = get_logger(__name__)

Handler = Callable[[AsyncSession, Platform, EventEnvelope], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Platform, Sequence[EventEnvelope]], Awaitable[None]]
ALL_EVENTS = "#"


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Handler
    # Event types it wants ("order.placed"), or ALL_EVENTS; also its AMQP bindings.
    event_types: frozenset[str] = field(default_factory=lambda: frozenset({ALL_EVENTS}))
    # Several events at once, in order, with the effect of `handler` on each but in a
    # few statements; without one, `handler` is called per event.
    batch_handler: BatchHandler | None = None

    @classmethod
    def batched(
        cls,
        name: str,
        batch_handler: BatchHandler,
        event_types: frozenset[str] = frozenset({ALL_EVENTS}),
    ) -> Consumer:
        """A consumer written for batches; one event is a batch of one."""

        async def handler(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
            await batch_handler(session, platform, [event])

        return cls(name=name, handler=handler, event_types=event_types, batch_handler=batch_handler)

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


# The inbox rows of a batch, in one statement whatever its size; the ids it returns
# are the events this consumer had not processed yet.
_CLAIM = DriverStatement(
    insert(ProcessedEvent)
    .from_select(
        ["consumer", "event_id"],
        select(
            bindparam("consumer", type_=String()),
            func.unnest(bindparam("event_ids", type_=ARRAY(Uuid()))),
        ),
    )
    .on_conflict_do_nothing()
    .returning(ProcessedEvent.event_id)
)


async def handle_batch(
    platform: Platform, consumer: Consumer, envelopes: Sequence[EventEnvelope]
) -> int:
    """Run the handler, in order, on each of `envelopes` this consumer has not processed
    yet, all in one transaction with their inbox rows: every one commits, or none does.
    Returns how many ran."""
    async with platform.database.session_factory() as session, session.begin():
        rows = await _CLAIM.fetch(
            session, consumer=consumer.name, event_ids=[envelope.id for envelope in envelopes]
        )
        claimed = {row["event_id"] for row in rows}
        fresh: list[EventEnvelope] = []
        for envelope in envelopes:
            if envelope.id in claimed:
                claimed.discard(envelope.id)  # an event listed twice runs once
                fresh.append(envelope)
        if consumer.batch_handler is not None:
            if fresh:
                await consumer.batch_handler(session, platform, fresh)
        else:
            for envelope in fresh:
                await consumer.handler(session, platform, envelope)
    return len(rows)


async def handle_once(platform: Platform, consumer: Consumer, envelope: EventEnvelope) -> bool:
    """Run the handler unless this consumer already processed the event. True when it
    ran. The handler's writes and the inbox row commit together, or neither does."""
    return await handle_batch(platform, consumer, [envelope]) == 1


class InProcessPublisher:
    """The embedded default: no broker, the relay hands events straight to the
    consumers. A failing consumer makes the publish fail, so the relay retries the
    event later; consumers that already handled it skip it through the inbox."""

    mode = "embedded"

    def __init__(self, platform: Platform, registry: ConsumerRegistry) -> None:
        self.platform = platform
        self.registry = registry

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        failures: list[Exception] = []
        for consumer in self.registry.all():
            wanted = [envelope for envelope in envelopes if consumer.wants(envelope.type)]
            if not wanted:
                continue
            try:
                await self._deliver(consumer, wanted)
            except Exception as error:
                failures.append(error)
        if failures:
            raise ExceptionGroup("consumers failed", failures)

    async def _deliver(self, consumer: Consumer, envelopes: Sequence[EventEnvelope]) -> None:
        """The batch in one transaction; should it fail, event by event, so that the
        events before the failing one are done and the failing one is named."""
        if len(envelopes) > 1:
            try:
                await handle_batch(self.platform, consumer, envelopes)
                return
            except Exception:
                pass  # rolled back whole; found and reported below
        for envelope in envelopes:
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
                raise

    async def close(self) -> None:
        return None
