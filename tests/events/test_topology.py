"""The events' RabbitMQ topology is declared from both sides, so nothing published
before the first worker ever started is lost, and an event the broker cannot route is
noticed and kept, never marked published."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from marketplace.cli import app as cli
from marketplace.consumers import build_registry
from marketplace.core.broker import AmqpPublisher, Topology, queue_name
from marketplace.core.consumers import ConsumerRegistry
from marketplace.core.outbox import OutboxRelay, PublishFailed
from marketplace.core.platform import Platform
from marketplace.event_delivery import EventDelivery
from marketplace.worker import Worker
from tests.conftest import AMQP_URL, make_settings, require_service
from tests.events.conftest import record_effect
from tests.events.test_outbox import emit_probe, eventually
from tests.events.test_worker import count_effects, delete_queues, unique_consumer


@pytest.fixture
async def amqp_platform(database_url: str) -> AsyncIterator[Platform]:
    require_service("RabbitMQ", AMQP_URL, 5672)
    started = await Platform.start(make_settings(database_url=database_url, amqp_url=AMQP_URL))
    yield started
    await started.close()


@pytest.fixture
async def fresh_exchange() -> AsyncIterator[str]:
    """An exchange no worker has ever seen: the first deploy of a new broker."""
    name = f"test.events.{uuid.uuid4().hex}"
    yield name
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    await channel.exchange_delete(name)
    await connection.close()


async def _relay(platform: Platform, publisher: AmqpPublisher) -> int:
    try:
        return await OutboxRelay(platform.database, publisher).run_once()
    finally:
        await publisher.close()


async def test_event_published_before_any_worker_started_is_not_lost(
    amqp_platform: Platform, effects: asyncpg.Connection, fresh_exchange: str
) -> None:
    consumer = unique_consumer(record_effect)
    topology = Topology((consumer,), fresh_exchange)
    event_id = await emit_probe(amqp_platform, commit=True, note="early")

    # The API relays it while no worker has ever run: the publisher declares the
    # consumer's queue first, so the broker keeps the event for it.
    assert await _relay(amqp_platform, AmqpPublisher(AMQP_URL, topology=topology)) == 1
    assert await effects.fetchval(
        "SELECT published_at IS NOT NULL FROM outbox_events WHERE id = $1", event_id
    )

    worker = Worker(
        amqp_platform, ConsumerRegistry([consumer]), run_relay=False, exchange=fresh_exchange
    )
    await worker.start()
    try:
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=15)
    finally:
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))


async def test_unroutable_event_is_logged_counted_and_kept_until_it_can_be_routed(
    amqp_platform: Platform, effects: asyncpg.Connection, fresh_exchange: str
) -> None:
    metrics = CollectorRegistry()
    publisher = AmqpPublisher(
        AMQP_URL, topology=Topology((), fresh_exchange), metrics_registry=metrics
    )
    event_id = await emit_probe(amqp_platform, commit=True, note="nowhere")

    with capture_logs() as logs, pytest.raises(PublishFailed, match="no queue is bound"):
        await _relay(amqp_platform, publisher)

    row = await effects.fetchrow(
        "SELECT published_at, attempts FROM outbox_events WHERE id = $1", event_id
    )
    assert row["published_at"] is None
    assert row["attempts"] == 0  # the topology's fault, not the event's: never given up
    unroutable = [entry for entry in logs if entry["event"] == "outbox.event_unroutable"]
    assert [(entry["event_id"], entry["type"]) for entry in unroutable] == [
        (str(event_id), "probe.happened")
    ]
    assert unroutable[0]["log_level"] == "error"
    assert metrics.get_sample_value("events_unroutable_total", {"type": "probe.happened"}) == 1.0

    # Once a queue is bound (a worker started), the next round delivers it.
    consumer = unique_consumer(record_effect)
    worker = Worker(
        amqp_platform, ConsumerRegistry([consumer]), run_relay=False, exchange=fresh_exchange
    )
    await worker.start()
    try:
        assert await _relay(amqp_platform, publisher) == 1
        assert await eventually(lambda: count_effects(effects, event_id), 1, within_seconds=15)
    finally:
        await worker.stop()
        await delete_queues(consumer, len(worker.retry_delays))
    assert metrics.get_sample_value("events_unroutable_total", {"type": "probe.happened"}) == 1.0


async def test_the_api_publisher_declares_every_consumer_queue(
    amqp_platform: Platform,
) -> None:
    metrics = CollectorRegistry()
    delivery = EventDelivery(amqp_platform, metrics_registry=metrics)
    try:
        assert isinstance(delivery.publisher, AmqpPublisher)
        assert [c.name for c in delivery.publisher.topology.consumers] == [
            c.name for c in build_registry().all()
        ]
        # Exposed with the process's other metrics (the API's /metrics, the worker's).
        assert b"# TYPE events_unroutable_total counter" in generate_latest(metrics)
    finally:
        await delivery.publisher.close()


def test_broker_setup_declares_every_queue_and_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    require_service("RabbitMQ", AMQP_URL, 5672)
    monkeypatch.setenv("AMQP_URL", AMQP_URL)
    result = CliRunner().invoke(cli, ["broker-setup"])
    assert result.exit_code == 0, result.output
    consumers = build_registry().all()
    for consumer in consumers:
        assert queue_name(consumer) in result.output

    async def check() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            for consumer in consumers:
                name = queue_name(consumer)
                for queue in (name, f"{name}.dead", f"{name}.retry.0"):
                    await channel.declare_queue(queue, passive=True)  # raises if missing
            # Routable now: a mandatory publish to a type nobody names is not returned.
            confirming = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await confirming.get_exchange("marketplace.events")
            await exchange.publish(
                aio_pika.Message(b"{}", message_id=uuid.uuid4().hex),
                routing_key="test.broker-setup",
                mandatory=True,
            )
        finally:
            cleanup = await connection.channel()
            for consumer in consumers:
                name = queue_name(consumer)
                for queue in (name, f"{name}.dead", *(f"{name}.retry.{i}" for i in range(5))):
                    await cleanup.queue_delete(queue)
            await connection.close()

    asyncio.run(check())


def test_broker_setup_without_a_broker_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMQP_URL", raising=False)
    result = CliRunner().invoke(cli, ["broker-setup"])
    assert result.exit_code == 2
    assert "AMQP_URL is not set" in result.output
