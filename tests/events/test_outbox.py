"""The outbox: atomic with the change, published once, in order, through outages."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aio_pika
import asyncpg
import pytest

from marketplace.core.broker import EVENTS_EXCHANGE, AmqpPublisher
from marketplace.core.consumers import Consumer, ConsumerRegistry, InProcessPublisher
from marketplace.core.events import EventActor, EventEnvelope, emit
from marketplace.core.outbox import (
    MAX_PUBLISH_ATTEMPTS,
    OutboxRelay,
    PublisherUnavailable,
    PublishFailed,
    partition_of,
)
from marketplace.core.platform import Platform
from marketplace.event_delivery import EventDelivery
from tests.conftest import AMQP_URL, make_settings, require_service
from tests.events.conftest import RECORDER, ProbeHappened, TcpProxy


class RecordingPublisher:
    mode = "test"

    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        self.published.extend(envelopes)

    async def close(self) -> None:
        return None


async def emit_probe(
    platform: Platform, *, commit: bool, note: str = "", probe_id: uuid.UUID | None = None
) -> uuid.UUID:
    event = ProbeHappened(probe_id=probe_id or uuid.uuid4(), company_id=uuid.uuid4(), note=note)
    async with platform.database.session_factory() as session:
        envelope = await emit(session, event, actor=EventActor(user_id=uuid.uuid4()))
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return envelope.id


async def eventually(
    probe: Callable[[], Awaitable[int]], expected: int, within_seconds: float
) -> bool:
    """Poll until `probe()` returns `expected` (state in another process or task)."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while asyncio.get_running_loop().time() < deadline:
        if await probe() == expected:
            return True
        await asyncio.sleep(0.1)
    return await probe() == expected


async def unpublished(connection: asyncpg.Connection) -> int:
    return int(
        await connection.fetchval("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
    )


async def test_rolled_back_transaction_emits_nothing(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    await emit_probe(platform, commit=False)
    assert await effects.fetchval("SELECT count(*) FROM outbox_events") == 0
    publisher = RecordingPublisher()
    assert await OutboxRelay(platform.database, publisher).run_once() == 0
    assert publisher.published == []


async def test_committed_event_is_published_exactly_once(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    event_id = await emit_probe(platform, commit=True, note="hello")
    publisher = RecordingPublisher()
    relay = OutboxRelay(platform.database, publisher)
    assert await relay.run_once() == 1
    assert await relay.run_once() == 0
    assert [envelope.id for envelope in publisher.published] == [event_id]
    envelope = publisher.published[0]
    assert envelope.type == "probe.happened"
    assert envelope.payload["note"] == "hello"
    assert envelope.actor_user_id is not None
    assert await unpublished(effects) == 0


async def test_events_of_one_aggregate_keep_their_order(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    probe_id = uuid.uuid4()
    for index in range(25):
        await emit_probe(platform, commit=True, note=str(index), probe_id=probe_id)
    publisher = RecordingPublisher()
    await OutboxRelay(platform.database, publisher, batch_size=7).run_once()
    assert [envelope.payload["note"] for envelope in publisher.published] == [
        str(i) for i in range(25)
    ]


async def test_two_relays_never_publish_an_event_twice(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    for _ in range(60):
        await emit_probe(platform, commit=True)
    first, second = RecordingPublisher(), RecordingPublisher()
    await asyncio.gather(
        OutboxRelay(platform.database, first, batch_size=5).run_once(),
        OutboxRelay(platform.database, second, batch_size=5).run_once(),
    )
    await OutboxRelay(platform.database, first).run_once()  # whatever a lock skipped
    ids = [envelope.id for envelope in first.published + second.published]
    assert len(ids) == 60
    assert len(set(ids)) == 60


async def test_in_process_delivery_runs_consumers_once(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    event_id = await emit_probe(platform, commit=True, note="local")
    publisher = InProcessPublisher(platform, ConsumerRegistry([RECORDER]))
    relay = OutboxRelay(platform.database, publisher)
    await relay.run_once()
    # Even if the same envelope is delivered again, the inbox makes it a no-op.
    row = await effects.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event_id)
    assert row is not None
    await effects.execute("UPDATE outbox_events SET published_at = NULL WHERE id = $1", event_id)
    await relay.run_once()
    assert (
        await effects.fetchval("SELECT count(*) FROM probe_effects WHERE event_id = $1", event_id)
        == 1
    )


async def test_failing_consumer_keeps_the_event_for_a_retry(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    calls = 0

    async def flaky(session, platform, event):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("temporary failure")
        await RECORDER.handler(session, platform, event)

    registry = ConsumerRegistry(
        [Consumer(name="flaky", handler=flaky, event_types=frozenset({"probe.happened"}))]
    )
    event_id = await emit_probe(platform, commit=True)
    relay = OutboxRelay(platform.database, InProcessPublisher(platform, registry))
    with pytest.raises(PublishFailed):
        await relay.run_once()
    assert await unpublished(effects) == 1
    assert await effects.fetchval("SELECT attempts FROM outbox_events WHERE id = $1", event_id) == 1
    assert await relay.run_once() == 1
    assert await effects.fetchval("SELECT count(*) FROM probe_effects") == 1


def aggregates_in_distinct_partitions(count: int) -> list[uuid.UUID]:
    chosen: dict[int, uuid.UUID] = {}
    while len(chosen) < count:
        candidate = uuid.uuid4()
        chosen.setdefault(partition_of(candidate), candidate)
    return list(chosen.values())


class CountingPublisher(RecordingPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        self.calls += 1
        await super().publish(envelopes)


def failing_on(notes: set[str]) -> Consumer:
    """The recorder, except that events whose note is in `notes` fail (while it is)."""

    async def handler(session, platform, event):  # type: ignore[no-untyped-def]
        if event.payload["note"] in notes:
            raise RuntimeError(f"cannot handle {event.payload['note']}")
        await RECORDER.handler(session, platform, event)

    return Consumer(name="picky", handler=handler, event_types=frozenset({"probe.happened"}))


async def recorded_notes(effects: asyncpg.Connection) -> list[str]:
    return [
        row["note"] for row in await effects.fetch("SELECT note FROM probe_effects ORDER BY at")
    ]


async def test_a_round_publishes_every_partition_at_once_in_order(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    aggregates = aggregates_in_distinct_partitions(6)
    for round_ in range(3):
        for index, aggregate in enumerate(aggregates):
            await emit_probe(platform, commit=True, note=f"{index}.{round_}", probe_id=aggregate)
    publisher = CountingPublisher()
    assert await OutboxRelay(platform.database, publisher).run_once() == 18
    assert publisher.calls == 1  # one round, one transaction, for six partitions
    for index in range(6):
        notes = [
            e.payload["note"] for e in publisher.published if e.aggregate_id == aggregates[index]
        ]
        assert notes == [f"{index}.0", f"{index}.1", f"{index}.2"]
    assert await unpublished(effects) == 0


async def test_a_consumer_takes_a_batch_in_one_transaction(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    for aggregate in aggregates_in_distinct_partitions(5):
        await emit_probe(platform, commit=True, probe_id=aggregate)
    relay = OutboxRelay(
        platform.database, InProcessPublisher(platform, ConsumerRegistry([RECORDER]))
    )
    assert await relay.run_once() == 5
    assert await effects.fetchval("SELECT count(*) FROM probe_effects") == 5
    # Rows written by one transaction share its id.
    transactions = await effects.fetchval(
        "SELECT count(DISTINCT xmin::text) FROM processed_events WHERE consumer = $1",
        RECORDER.name,
    )
    assert transactions == 1


async def test_a_failing_event_in_a_batch_holds_back_only_itself_and_what_follows(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    probe_id = uuid.uuid4()
    for note in ("a", "b", "bad", "c"):
        await emit_probe(platform, commit=True, note=note, probe_id=probe_id)
    broken: set[str] = {"bad"}
    relay = OutboxRelay(
        platform.database, InProcessPublisher(platform, ConsumerRegistry([failing_on(broken)]))
    )
    with pytest.raises(PublishFailed):
        await relay.run_once()
    # The batch rolled back, then went event by event up to the failing one.
    assert sorted(await recorded_notes(effects)) == ["a", "b"]
    assert await unpublished(effects) == 4
    broken.clear()
    assert await relay.run_once() == 4
    assert sorted(await recorded_notes(effects)) == ["a", "b", "bad", "c"]  # each once
    assert await unpublished(effects) == 0


async def test_a_failing_partition_does_not_hold_back_the_others(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    healthy, failing = aggregates_in_distinct_partitions(2)
    await emit_probe(platform, commit=True, note="bad", probe_id=failing)
    await emit_probe(platform, commit=True, note="fine", probe_id=healthy)
    relay = OutboxRelay(
        platform.database, InProcessPublisher(platform, ConsumerRegistry([failing_on({"bad"})]))
    )
    with pytest.raises(PublishFailed):
        await relay.run_once()
    assert await recorded_notes(effects) == ["fine"]
    rows = await effects.fetch(
        "SELECT aggregate_id, published_at IS NOT NULL AS published, attempts FROM outbox_events"
    )
    state = {row["aggregate_id"]: (row["published"], row["attempts"]) for row in rows}
    assert state == {healthy: (True, 0), failing: (False, 1)}


class UnreachablePublisher(RecordingPublisher):
    """A broker that cannot be reached until `up` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        if not self.up:
            raise PublisherUnavailable("connection refused")
        await super().publish(envelopes)


async def test_an_unreachable_broker_never_counts_against_the_events(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    """However long the outage, no event is given up for it (only a failure the
    events cause counts, towards MAX_PUBLISH_ATTEMPTS)."""
    for aggregate in aggregates_in_distinct_partitions(3):
        await emit_probe(platform, commit=True, probe_id=aggregate)
    await emit_probe(platform, commit=True)
    publisher = UnreachablePublisher()
    relay = OutboxRelay(platform.database, publisher)
    for _ in range(MAX_PUBLISH_ATTEMPTS + 2):
        with pytest.raises(PublishFailed):
            await relay.run_once()
    assert await unpublished(effects) == 4
    assert await effects.fetchval("SELECT max(attempts) FROM outbox_events") == 0
    publisher.up = True
    assert await relay.run_once() == 4
    assert await unpublished(effects) == 0


class DroppingPublisher(RecordingPublisher):
    """Delivers the first `limit` events of a batch, then loses the broker."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit: int | None = limit

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        if self.limit is None or len(envelopes) <= self.limit:
            await super().publish(envelopes)
            return
        await super().publish(envelopes[: self.limit])
        raise PublisherUnavailable("connection lost", published=self.limit)


async def test_events_delivered_before_the_broker_went_away_are_not_sent_again(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    aggregates = aggregates_in_distinct_partitions(3)
    for aggregate in aggregates * 2:
        await emit_probe(platform, commit=True, probe_id=aggregate)
    publisher = DroppingPublisher(limit=2)
    relay = OutboxRelay(platform.database, publisher)
    with pytest.raises(PublishFailed):
        await relay.run_once()
    assert await unpublished(effects) == 4
    publisher.limit = None
    assert await relay.run_once() == 4
    ids = [envelope.id for envelope in publisher.published]
    assert len(ids) == 6
    assert len(set(ids)) == 6  # none twice
    for aggregate in aggregates:  # and each aggregate's events still in order
        notes = [e.id for e in publisher.published if e.aggregate_id == aggregate]
        expected = await effects.fetch(
            "SELECT id FROM outbox_events WHERE aggregate_id = $1 ORDER BY seq", aggregate
        )
        assert notes == [row["id"] for row in expected]


async def test_the_rabbitmq_publisher_reports_an_unreachable_broker(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    publisher = AmqpPublisher(f"amqp://guest:guest@127.0.0.1:{closed_port}/", timeout_seconds=2)
    await emit_probe(platform, commit=True)
    try:
        with pytest.raises(PublishFailed):
            await OutboxRelay(platform.database, publisher).run_once()
    finally:
        await publisher.close()
    assert await effects.fetchval("SELECT attempts FROM outbox_events") == 0


@pytest.fixture
async def event_queue() -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    require_service("RabbitMQ", AMQP_URL, 5672)
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(f"test.{uuid.uuid4().hex}", exclusive=True)
    await queue.bind(exchange, routing_key="probe.#")
    yield queue
    await connection.close()


async def drain(
    queue: aio_pika.abc.AbstractQueue, expected: int, within_seconds: float = 10
) -> list[EventEnvelope]:
    received: list[EventEnvelope] = []
    deadline = asyncio.get_running_loop().time() + within_seconds
    while len(received) < expected and asyncio.get_running_loop().time() < deadline:
        message = await queue.get(fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        await message.ack()
        received.append(EventEnvelope.model_validate_json(message.body))
    await asyncio.sleep(0.2)
    while (extra := await queue.get(fail=False)) is not None:
        await extra.ack()
        received.append(EventEnvelope.model_validate_json(extra.body))
    return received


async def test_relay_publishes_persistent_confirmed_messages_to_rabbitmq(
    platform: Platform, effects: asyncpg.Connection, event_queue: aio_pika.abc.AbstractQueue
) -> None:
    event_id = await emit_probe(platform, commit=True, note="to-rabbit")
    publisher = AmqpPublisher(AMQP_URL)
    try:
        assert await OutboxRelay(platform.database, publisher).run_once() == 1
    finally:
        await publisher.close()
    received = await drain(event_queue, 1)
    assert [envelope.id for envelope in received] == [event_id]
    assert received[0].payload["note"] == "to-rabbit"


async def test_broker_outage_loses_nothing_and_duplicates_nothing(
    platform: Platform,
    effects: asyncpg.Connection,
    event_queue: aio_pika.abc.AbstractQueue,
    broker_proxy: TcpProxy,
) -> None:
    """The drill: cut the broker while changes keep being committed, restore it, and
    every event arrives exactly once."""
    publisher = AmqpPublisher(broker_proxy.url(), timeout_seconds=2)
    relay = OutboxRelay(
        platform.database, publisher, poll_interval_seconds=0.05, max_backoff_seconds=0.2
    )
    running = asyncio.create_task(relay.run())
    try:
        before = [await emit_probe(platform, commit=True) for _ in range(5)]
        await broker_proxy.cut()
        during = [await emit_probe(platform, commit=True) for _ in range(10)]
        await asyncio.sleep(0.5)
        assert await unpublished(effects) >= 1  # held back while the broker is gone
        await broker_proxy.restore()
        after = [await emit_probe(platform, commit=True) for _ in range(5)]
        assert await eventually(lambda: unpublished(effects), 0, within_seconds=20)
    finally:
        relay.stop()
        await running
        await publisher.close()
    received = await drain(event_queue, 20)
    assert sorted(str(e.id) for e in received) == sorted(str(i) for i in before + during + after)


async def test_in_process_delivery_runs_on_a_pool_of_one_connection(
    database_url: str, effects: asyncpg.Connection
) -> None:
    """The relay holds its partition locks while the consumers run, each in a pooled
    connection: the locks are on a connection of the relay's own, so that the relay
    never holds a pooled connection while waiting for another (on a pool of one that
    waited out the pool timeout, and no event was ever delivered)."""
    platform = await Platform.start(
        make_settings(
            database_url=database_url,
            database_pool_size=1,
            database_max_overflow=0,
            database_pool_timeout=2,
        )
    )
    delivery = EventDelivery(platform, ConsumerRegistry([RECORDER]), send_webhooks=False)
    try:
        event_id = await emit_probe(platform, commit=True, note="one connection")
        assert await delivery.relay.run_once() == 1
        assert (
            await effects.fetchval(
                "SELECT count(*) FROM probe_effects WHERE event_id = $1", event_id
            )
            == 1
        )
        assert await unpublished(effects) == 0
        assert platform.database.pool_status()["checked_out"] == 0
    finally:
        await delivery.stop()
        await platform.close()
