"""The RabbitMQ worker: idempotent consumers, retries with backoff, dead letters,
redelivery after a crash mid-message."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from functools import partial

import aio_pika
import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.broker import AmqpPublisher, Topology
from marketplace.core.consumers import Consumer, ConsumerRegistry
from marketplace.core.events import EventEnvelope, emit
from marketplace.core.outbox import OutboxRelay
from marketplace.core.platform import Platform
from marketplace.worker import Worker
from tests.conftest import AMQP_URL, make_settings, production_settings, require_service
from tests.events.conftest import ProbeHappened, record_effect
from tests.events.test_outbox import eventually


@pytest.fixture
async def amqp_platform(database_url: str) -> AsyncIterator[Platform]:
    require_service("RabbitMQ", AMQP_URL, 5672)
    started = await Platform.start(make_settings(database_url=database_url, amqp_url=AMQP_URL))
    yield started
    await started.close()


def unique_consumer(handler, name: str = "probe") -> Consumer:  # type: ignore[no-untyped-def]
    # A fresh queue per test: no leftovers from earlier runs.
    return Consumer(
        name=f"test-{name}-{uuid.uuid4().hex[:8]}",
        handler=handler,
        event_types=frozenset({"probe.happened"}),
    )


async def publish_probe(platform: Platform, note: str = "") -> uuid.UUID:
    async with platform.database.session_factory() as session:
        envelope = await emit(
            session, ProbeHappened(probe_id=uuid.uuid4(), company_id=uuid.uuid4(), note=note)
        )
        await session.commit()
    publisher = AmqpPublisher(AMQP_URL)
    try:
        await OutboxRelay(platform.database, publisher).run_once()
    finally:
        await publisher.close()
    return envelope.id


async def delete_queues(consumer: Consumer, retries: int) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    base = f"mp.{consumer.name}"
    for name in [base, f"{base}.dead", *(f"{base}.retry.{i}" for i in range(retries))]:
        await channel.queue_delete(name)
    await connection.close()


async def dead_lettered(
    connection: aio_pika.abc.AbstractConnection, consumer: Consumer
) -> aio_pika.abc.AbstractIncomingMessage:
    """The first message of the consumer's dead-letter queue, once one is there."""
    channel = await connection.channel()
    dead = await channel.declare_queue(f"mp.{consumer.name}.dead", durable=True)

    async def dead_count() -> int:
        declared = await channel.declare_queue(dead.name, durable=True, passive=True)
        return int(declared.declaration_result.message_count or 0)

    assert await eventually(dead_count, 1, within_seconds=15)
    message = await dead.get()
    assert message is not None
    return message


async def count_effects(effects: asyncpg.Connection, event_id: uuid.UUID) -> int:
    return int(
        await effects.fetchval("SELECT count(*) FROM probe_effects WHERE event_id = $1", event_id)
    )


async def test_worker_consumes_and_acknowledges(
    amqp_platform: Platform, effects: asyncpg.Connection
) -> None:
    consumer = unique_consumer(record_effect)
    worker = Worker(amqp_platform, ConsumerRegistry([consumer]), run_relay=False)
    await worker.start()
    try:
        event_id = await publish_probe(amqp_platform, "work")
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=10)
    finally:
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))


async def test_failing_handler_is_retried_with_backoff_then_succeeds(
    amqp_platform: Platform, effects: asyncpg.Connection
) -> None:
    attempts = 0

    async def fails_twice(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise RuntimeError("downstream unavailable")
        await record_effect(session, platform, event)

    consumer = unique_consumer(fails_twice, "flaky")
    worker = Worker(
        amqp_platform, ConsumerRegistry([consumer]), run_relay=False, retry_delays=(1, 1, 1)
    )
    await worker.start()
    try:
        event_id = await publish_probe(amqp_platform)
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=15)
        assert attempts == 3
    finally:
        await worker.stop()
        await delete_queues(consumer, 3)


async def test_message_failing_every_try_is_dead_lettered(
    amqp_platform: Platform, effects: asyncpg.Connection
) -> None:
    async def always_fails(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
        raise RuntimeError("poison")

    consumer = unique_consumer(always_fails, "poison")
    worker = Worker(
        amqp_platform, ConsumerRegistry([consumer]), run_relay=False, retry_delays=(1, 1)
    )
    await worker.start()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        event_id = await publish_probe(amqp_platform)
        message = await dead_lettered(connection, consumer)
        assert EventEnvelope.model_validate_json(message.body).id == event_id
        assert message.headers["x-attempt"] == 3
        await message.ack()
        assert await count_effects(effects, event_id) == 0
    finally:
        await connection.close()
        await worker.stop()
        await delete_queues(consumer, 2)


async def test_worker_killed_mid_message_is_redelivered_and_handled_once(
    amqp_platform: Platform, effects: asyncpg.Connection
) -> None:
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
        await record_effect(session, platform, event)
        entered.set()
        await release.wait()  # the first worker dies here, before its commit and ack

    consumer = unique_consumer(slow, "slow")
    first = Worker(amqp_platform, ConsumerRegistry([consumer]), run_relay=False)
    await first.start()
    event_id = await publish_probe(amqp_platform)
    await asyncio.wait_for(entered.wait(), 10)
    # Kill: drop the broker connection without acking; the handler never commits.
    assert first._connection is not None
    await first._connection.close()

    healthy = Consumer(name=consumer.name, handler=record_effect, event_types=consumer.event_types)
    second = Worker(amqp_platform, ConsumerRegistry([healthy]), run_relay=False)
    await second.start()
    try:
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=10)
        release.set()
        await asyncio.sleep(0.5)
        assert await count_effects(effects, event_id) == 1
    finally:
        release.set()
        await second.stop()
        await delete_queues(consumer, len(second.retry_delays))


async def test_duplicate_delivery_has_one_effect(
    amqp_platform: Platform, effects: asyncpg.Connection
) -> None:
    consumer = unique_consumer(record_effect)
    worker = Worker(amqp_platform, ConsumerRegistry([consumer]), run_relay=False)
    await worker.start()
    try:
        event_id = await publish_probe(amqp_platform)
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=10)
        # The relay crashed after the confirm but before marking: it publishes again.
        await effects.execute(
            "UPDATE outbox_events SET published_at = NULL WHERE id = $1", event_id
        )
        publisher = AmqpPublisher(AMQP_URL)
        try:
            await OutboxRelay(amqp_platform.database, publisher).run_once()
        finally:
            await publisher.close()
        await asyncio.sleep(1)
        assert await count_effects(effects, event_id) == 1
    finally:
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))


async def test_worker_health_and_metrics_endpoint(amqp_platform: Platform) -> None:
    consumer = unique_consumer(record_effect)
    worker = Worker(amqp_platform, ConsumerRegistry([consumer]), run_relay=False)
    await worker.start()
    server = await worker.serve_health("127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/health")
            metrics = await client.get("/metrics")
        assert health.status_code == 200
        assert health.json()["broker"] == "connected"
        assert "worker_messages_total" in metrics.text
    finally:
        server.close()
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))


async def test_worker_metrics_follow_the_api_s_rule_in_production(database_url: str) -> None:
    """The worker's /metrics port answers like the API's /metrics: in production only to
    the METRICS_TOKEN (and not at all without one); /health stays open for probes."""
    token = "worker-metrics-token-" + "0123456789" * 3
    for metrics_token, headers, expected in [
        (None, {}, 404),
        (token, {}, 401),
        (token, {"Authorization": f"Bearer {token}-wrong"}, 401),
        (token, {"Authorization": f"Bearer {token}"}, 200),
    ]:
        settings = production_settings(
            database_url=database_url, amqp_url=AMQP_URL, metrics_token=metrics_token
        )
        platform = await Platform.start(settings)
        worker = Worker(platform, ConsumerRegistry([]), run_relay=False)
        server = await worker.serve_health("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                metrics = await client.get("/metrics", headers=headers)
                health = await client.get("/health")
            assert metrics.status_code == expected, (metrics_token, headers)
            assert ("worker_messages_total" in metrics.text) is (expected == 200)
            if expected == 401:
                assert metrics.headers["www-authenticate"] == 'Bearer realm="metrics"'
            assert health.status_code == 503  # not connected: it was never started
        finally:
            server.close()
            await server.wait_closed()
            await platform.close()


@pytest.fixture
async def own_exchange() -> AsyncIterator[str]:
    """An exchange of the test's own: no other test's probes reach its queues."""
    name = f"test-events-{uuid.uuid4().hex[:8]}"
    yield name
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    await channel.exchange_delete(name)
    await connection.close()


async def publish_probes(
    platform: Platform, consumer: Consumer, exchange: str, notes: list[str]
) -> list[uuid.UUID]:
    """Several events in one commit and one relay round: delivered together."""
    async with platform.database.session_factory() as session:
        ids = [
            (
                await emit(
                    session,
                    ProbeHappened(probe_id=uuid.uuid4(), company_id=uuid.uuid4(), note=note),
                )
            ).id
            for note in notes
        ]
        await session.commit()
    publisher = AmqpPublisher(AMQP_URL, topology=Topology((consumer,), exchange))
    try:
        await OutboxRelay(platform.database, publisher).run_once()
    finally:
        await publisher.close()
    return ids


def batch_consumer(name: str, batches: list[list[str]], worker_of: list[Worker], total: int):  # type: ignore[no-untyped-def]
    """A batched consumer that records each batch's notes and effects, and whose first
    batch waits until every other message of `total` waits for the next one."""

    async def handle(
        session: AsyncSession, platform: Platform, events: Sequence[EventEnvelope]
    ) -> None:
        if not batches:
            batches.append([])  # the first call, whatever becomes of it
            waiting = worker_of[0]._batches[consumer.name].waiting
            for _ in range(200):
                if len(waiting) == total - len(events):
                    break
                await asyncio.sleep(0.05)
            batches.pop()
        batches.append([event.payload["note"] for event in events])
        if any(event.payload["note"] == "poison" for event in events):
            raise RuntimeError("poison")
        for event in events:
            await record_effect(session, platform, event)

    consumer = Consumer.batched(
        f"test-{name}-{uuid.uuid4().hex[:8]}", handle, frozenset({"probe.happened"})
    )
    return consumer


async def test_messages_waiting_together_are_handled_in_one_transaction(
    amqp_platform: Platform, effects: asyncpg.Connection, own_exchange: str
) -> None:
    batches: list[list[str]] = []
    worker_of: list[Worker] = []
    consumer = batch_consumer("batch", batches, worker_of, 10)
    worker = Worker(
        amqp_platform, ConsumerRegistry([consumer]), run_relay=False, exchange=own_exchange
    )
    worker_of.append(worker)
    await worker.start()
    try:
        ids = await publish_probes(
            amqp_platform, consumer, own_exchange, [f"n{i}" for i in range(10)]
        )
        for event_id in ids:
            assert await eventually(partial(count_effects, effects, event_id), 1, 10)
        # The first message alone, at once; the nine delivered while it ran, together.
        assert batches == [["n0"], [f"n{i}" for i in range(1, 10)]]
    finally:
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))


async def test_a_failing_message_of_a_batch_is_retried_alone(
    amqp_platform: Platform, effects: asyncpg.Connection, own_exchange: str
) -> None:
    batches: list[list[str]] = []
    worker_of: list[Worker] = []
    consumer = batch_consumer("batch-poison", batches, worker_of, 4)
    worker = Worker(
        amqp_platform,
        ConsumerRegistry([consumer]),
        run_relay=False,
        retry_delays=(1,),
        exchange=own_exchange,
    )
    worker_of.append(worker)
    await worker.start()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        ids = await publish_probes(
            amqp_platform, consumer, own_exchange, ["first", "a", "poison", "b"]
        )
        message = await dead_lettered(connection, consumer)
        assert EventEnvelope.model_validate_json(message.body).id == ids[2]
        await message.ack()
        # The batch of three failed whole, then each went alone: the others took effect
        # once, the poisoned one never.
        assert batches[:2] == [["first"], ["a", "poison", "b"]]
        assert [await count_effects(effects, event_id) for event_id in ids] == [1, 1, 0, 1]
    finally:
        await connection.close()
        await worker.stop()
        await delete_queues(consumer, 1)
