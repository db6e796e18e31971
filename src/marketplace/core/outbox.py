"""The transactional outbox and its relay.

Events are rows of `outbox_events`, written in the transaction of the change. The
relay publishes committed rows in order per aggregate and marks them published
only after the publisher confirmed them, so a broker outage delays events but
never loses them; a crash between confirm and mark republishes, and consumers are
idempotent (`processed_events`).

Ordering and scale-out: every aggregate hashes to one of `PARTITIONS` partitions;
a relay publishes a partition only while holding that partition's advisory lock,
oldest first, so any number of relays can run without reordering an aggregate's
events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from marketplace.core.db import Base, Database
from marketplace.core.driver import DriverStatement
from marketplace.core.logging import get_logger

if TYPE_CHECKING:
    from marketplace.core.events import EventEnvelope

logger = get_logger(__name__)

PARTITIONS = 16
ADVISORY_LOCK_BASE = 7_270_000
MAX_PUBLISH_ATTEMPTS = 20


class PublishFailed(Exception):
    pass


class PublisherUnavailable(Exception):
    """The publisher could not go on (the broker is unreachable): no event's fault, so
    no event's attempt is counted and none is ever given up for it. `published`: how many
    of the events, from the first, it delivered before that."""

    def __init__(self, message: str, *, published: int = 0) -> None:
        super().__init__(message)
        self.published = published


class EventsUnroutable(PublisherUnavailable):
    """The broker returned an event because no queue is bound for it: the topology is
    missing, not the event wrong. Like an outage, it is retried without limit and the
    event stays unpublished until it can be routed."""


def partition_of(aggregate_id: uuid.UUID) -> int:
    return aggregate_id.int % PARTITIONS


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_unpublished",
            "partition",
            "seq",
            postgresql_where=text("published_at IS NULL"),
        ),
        Index("ix_outbox_events_aggregate", "aggregate_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    aggregate_type: Mapped[str] = mapped_column(String(50))
    aggregate_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    partition: Mapped[int] = mapped_column(Integer)
    company_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(45))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class ProcessedEvent(Base):
    """The inbox: one row per (consumer, event) handled, so redeliveries are no-ops."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Publisher(Protocol):
    mode: str

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Deliver in order; return only when every one is confirmed, else raise."""

    async def close(self) -> None: ...


async def outbox_backlog(database: Database) -> tuple[int, float]:
    """How many committed events wait to be published, and the oldest one's age in
    seconds (0 when none wait). Reads only the partial index of unpublished rows."""
    async with database.session_factory() as session:
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(
                        func.extract("epoch", func.now() - func.min(OutboxEvent.occurred_at)), 0
                    ),
                ).where(OutboxEvent.published_at.is_(None))
            )
        ).one()
    return int(row[0]), max(float(row[1]), 0.0)


@dataclass(frozen=True, slots=True)
class UnpublishedEvent:
    """An outbox row as the relay reads it (`_OLDEST_UNPUBLISHED`'s columns, in order)."""

    seq: int
    id: uuid.UUID
    type: str
    version: int
    aggregate_type: str
    aggregate_id: uuid.UUID
    partition: int
    company_ids: list[uuid.UUID]
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_is_staff: bool
    request_id: str | None
    ip: str | None
    occurred_at: datetime
    payload: dict[str, Any]
    attempts: int


# The relay's statements run on the driver (core/driver.py), in its round's transaction:
# a round follows every commit that wrote events (order placement's, say), and through
# the ORM its three statements and the rows it loaded cost more CPU in the API process
# than the publishing itself (bench/README.md, "order placement").
_PENDING = (
    select(OutboxEvent.partition.label("partition"))
    .where(OutboxEvent.published_at.is_(None))
    .distinct()
    .subquery()
)
_LOCK_PENDING = DriverStatement(
    select(_PENDING.c.partition).where(
        func.pg_try_advisory_xact_lock(ADVISORY_LOCK_BASE + _PENDING.c.partition)
    )
)
_LOCK_PARTITION = DriverStatement(
    select(
        func.pg_try_advisory_xact_lock(ADVISORY_LOCK_BASE + bindparam("partition", type_=Integer))
    )
)
_OLDEST_UNPUBLISHED = DriverStatement(
    select(
        *(
            OutboxEvent.__table__.c[name]
            for name in UnpublishedEvent.__dataclass_fields__  # the dataclass's order
        )
    )
    .where(
        OutboxEvent.partition == any_(bindparam("partitions", type_=ARRAY(Integer))),
        OutboxEvent.published_at.is_(None),
    )
    .order_by(OutboxEvent.seq)
    .limit(bindparam("limit", type_=Integer))
)
_MARK_PUBLISHED = DriverStatement(
    update(OutboxEvent)
    .where(OutboxEvent.seq == any_(bindparam("seqs", type_=ARRAY(BigInteger))))
    .values(published_at=bindparam("now", type_=DateTime(timezone=True)))
)


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        *,
        batch_size: int = 200,
        poll_interval_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self.database = database
        self.publisher = publisher
        registry = metrics_registry or CollectorRegistry()
        self.published = Counter(
            "outbox_events_published_total",
            "Events this process's relay published.",
            registry=registry,
        )
        self.dead_lettered = Counter(
            "outbox_events_dead_lettered_total",
            f"Events given up after {MAX_PUBLISH_ATTEMPTS} failed publish attempts (marked "
            "published with their last_error kept, so that their partition moves on).",
            registry=registry,
        )
        self.batch_size = batch_size
        self.poll_interval_seconds = poll_interval_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Publish soon: called after a commit that wrote events."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish every committed, unpublished event this relay can lock now."""
        published = 0
        while True:
            count = await self._publish_round()
            published += count
            if count < self.batch_size:
                return published

    async def _publish_round(self) -> int:
        """One batch from every pending partition this relay can lock, in one
        transaction: a round costs the same few statements whether its events are of one
        partition or of all. Should the publisher fail on events of several partitions,
        they are retried one partition at a time, so that healthy partitions go through
        and the attempt is counted on the one that fails (`_publish_partition`)."""
        async with self.database.session_factory() as session, session.begin():
            # A statement of its own, before the rows are read: the read's snapshot then
            # sees whatever another relay committed for these partitions before we
            # locked them, so nothing is published twice.
            locked = [row["partition"] for row in await _LOCK_PENDING.fetch(session)]
            if not locked:
                return 0
            rows = await self._oldest_unpublished(session, locked)
            if not rows:
                return 0
            partitions = sorted({row.partition for row in rows})
            # One partition: its head takes the blame as usual. Several: which one failed
            # is not known, so none is blamed here, and they are retried one by one.
            failure = await self._publish_rows(session, rows, blame=len(partitions) == 1)
            if failure is None:
                return len(rows)
        if len(partitions) == 1 or isinstance(failure, PublisherUnavailable):
            # Partition by partition an unreachable broker would fail the same way.
            raise PublishFailed(str(failure)) from failure
        published, failed = 0, None
        for partition in partitions:
            try:
                published += await self._publish_partition(partition)
            except PublishFailed as error:
                failed = error
        if failed is not None:
            raise failed
        return published

    async def _oldest_unpublished(
        self, session: AsyncSession, partitions: Sequence[int]
    ) -> list[UnpublishedEvent]:
        rows = await _OLDEST_UNPUBLISHED.fetch(
            session, partitions=list(partitions), limit=self.batch_size
        )
        return [UnpublishedEvent(*row.values()) for row in rows]

    async def _publish_partition(self, partition: int) -> int:
        async with self.database.session_factory() as session, session.begin():
            if not await _LOCK_PARTITION.fetchval(session, partition=partition):
                return 0  # another relay owns this partition right now
            rows = await self._oldest_unpublished(session, [partition])
            if not rows:
                return 0
            failure = await self._publish_rows(session, rows, blame=True)
        if failure is not None:
            raise PublishFailed(str(failure)) from failure
        return len(rows)

    async def _publish_rows(
        self, session: AsyncSession, rows: list[UnpublishedEvent], *, blame: bool
    ) -> Exception | None:
        """Publish and mark; on failure return the error instead of raising, and with
        `blame` record the attempt on the oldest event (committed with the transaction,
        so the record stays)."""
        from marketplace.core.events import EventEnvelope

        envelopes = [EventEnvelope.from_row(row) for row in rows]
        try:
            await self.publisher.publish(envelopes)
        except PublisherUnavailable as error:
            logger.warning(
                "outbox.publisher_unavailable", published=error.published, error=repr(error)
            )
            if error.published:
                # Delivered: marked, not sent again (each partition's a prefix, by seq).
                await self._mark_published(session, rows[: error.published])
            return error
        except Exception as error:
            if not blame:
                logger.info("outbox.round_failed", error=repr(error))
                return error
            # Left unpublished (a consumer failed, the broker refused it). The attempt is
            # counted on the oldest event, which holds up its partition; after many
            # tries it is given up so that one poisoned event cannot stall the rest.
            head = rows[0]
            attempts = head.attempts + 1
            gave_up = attempts >= MAX_PUBLISH_ATTEMPTS
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.seq == head.seq)
                .values(
                    attempts=attempts,
                    last_error=repr(error)[:2000],
                    published_at=datetime.now(UTC) if gave_up else None,
                )
            )
            if gave_up:
                self.dead_lettered.inc()
            log = logger.error if gave_up else logger.warning
            log(
                "outbox.publish_failed",
                event_id=str(head.id),
                type=head.type,
                attempts=attempts,
                dead_lettered=gave_up,
                error=repr(error),
            )
            return error
        await self._mark_published(session, rows)
        return None

    async def _mark_published(self, session: AsyncSession, rows: list[UnpublishedEvent]) -> None:
        await _MARK_PUBLISHED.execute(
            session, seqs=[row.seq for row in rows], now=datetime.now(UTC)
        )
        self.published.inc(len(rows))

    async def run(self) -> None:
        """Loop until `stop()`: publish, then sleep until woken or the poll interval."""
        backoff = self.poll_interval_seconds
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.run_once()
                backoff = self.poll_interval_seconds
            except Exception as error:  # keep relaying: the next round retries
                logger.warning("outbox.relay_round_failed", error=repr(error), retry_in=backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_seconds)
                continue
            await self._sleep(self.poll_interval_seconds)

    async def _sleep(self, seconds: float) -> None:
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({wake, stop}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (wake, stop):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def stop(self) -> None:
        self._stopping.set()
