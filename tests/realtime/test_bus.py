"""The bus between processes (real Redis) and the bounded connection queue."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from marketplace.core.bus import InProcessBus, RedisBus, bus_for, user_channel
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.realtime.consumers import REALTIME
from marketplace.realtime.hub import TRY_AGAIN_LATER, Connection
from tests.conftest import REDIS_URL, make_settings, require_service


@pytest.fixture
async def redis_platforms(database_url: str) -> AsyncIterator[tuple[Platform, Platform]]:
    """Two platforms, as two API processes would have, sharing one Redis prefix."""
    require_service("Redis", REDIS_URL, 6379)
    settings = make_settings(database_url=database_url, redis_url=REDIS_URL)
    first = await Platform.start(settings)
    second = await Platform.start(settings)
    yield first, second
    await first.close()
    await second.close()


async def wait_until(condition: object, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_message_published_in_one_process_reaches_a_subscriber_in_another(
    redis_platforms: tuple[Platform, Platform],
) -> None:
    publisher_platform, subscriber_platform = redis_platforms
    publisher, subscriber = bus_for(publisher_platform), bus_for(subscriber_platform)
    assert isinstance(subscriber, RedisBus)
    received: list[tuple[str, bytes]] = []
    await subscriber.start(lambda channel, body: received.append((channel, body)), lambda: None)
    try:
        mine, other = uuid.uuid4(), uuid.uuid4()
        await subscriber.subscribe(user_channel(subscriber, mine))
        await publisher.publish(
            [
                (user_channel(publisher, other), b"not for me"),
                (user_channel(publisher, mine), b"hi"),
            ]
        )
        await wait_until(lambda: received)
        await asyncio.sleep(0.2)
        assert received == [(user_channel(subscriber, mine), b"hi")]

        await subscriber.unsubscribe(user_channel(subscriber, mine))
        await publisher.publish([(user_channel(publisher, mine), b"after")])
        await asyncio.sleep(0.3)
        assert len(received) == 1
    finally:
        await subscriber.close()


async def test_a_dropped_subscription_is_restored_and_reported_as_a_gap(
    redis_platforms: tuple[Platform, Platform],
) -> None:
    publisher_platform, subscriber_platform = redis_platforms
    publisher, subscriber = bus_for(publisher_platform), bus_for(subscriber_platform)
    assert isinstance(subscriber, RedisBus)
    received: list[bytes] = []
    gaps: list[bool] = []
    await subscriber.start(lambda _channel, body: received.append(body), lambda: gaps.append(True))
    try:
        user = uuid.uuid4()
        await subscriber.subscribe(user_channel(subscriber, user))
        admin = Redis.from_url(REDIS_URL)
        try:
            clients = await admin.client_list()
            ids = [c["id"] for c in clients if c.get("name") == subscriber.client_name]
            assert ids, "the subscriber connection is named"
            for client_id in ids:
                await admin.client_kill_filter(_id=client_id)
        finally:
            await admin.aclose()
        await wait_until(lambda: gaps)
        await publisher.publish([(user_channel(publisher, user), b"after the gap")])
        await wait_until(lambda: received)
        assert received == [b"after the gap"]
    finally:
        await subscriber.close()


async def test_the_in_process_bus_delivers_only_subscribed_channels() -> None:
    bus = InProcessBus("p:")
    received: list[bytes] = []
    await bus.start(lambda _channel, body: received.append(body), lambda: None)
    user = uuid.uuid4()
    await bus.subscribe(user_channel(bus, user))
    await bus.publish(
        [(user_channel(bus, uuid.uuid4()), b"other"), (user_channel(bus, user), b"me")]
    )
    assert received == [b"me"]
    await bus.close()


async def test_a_full_queue_closes_the_connection_and_grows_no_further() -> None:
    connection = Connection(uuid.uuid4(), is_staff=False, queue_size=4)
    accepted = [connection.offer(f"m{n}".encode()) for n in range(1000)]
    assert accepted == [True] * 4 + [False] * 996
    assert connection.queue.qsize() == 4
    assert connection.close_code == TRY_AGAIN_LATER
    assert connection.close_requested.is_set()


async def test_the_realtime_consumer_shrugs_off_an_unreachable_redis(database_url: str) -> None:
    """Live updates are best effort: a Redis outage must not fail the consumer (in the
    embedded relay that would hold up every other consumer's events)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    platform = await Platform.start(
        make_settings(database_url=database_url, redis_url=f"redis://127.0.0.1:{closed_port}/0")
    )
    try:
        envelope = EventEnvelope(
            id=uuid.uuid4(),
            type="test.nobody_listens",
            version=1,
            aggregate_type="test",
            aggregate_id=uuid.uuid4(),
            company_ids=[],
            actor_user_id=None,
            actor_api_key_id=None,
            actor_is_staff=False,
            request_id=None,
            ip=None,
            occurred_at=datetime.now(UTC),
            payload={},
        )
        with capture_logs() as logs:
            async with platform.database.session_factory() as session:
                await REALTIME.handler(session, platform, envelope)  # logs, does not raise
        failures = [log for log in logs if log["event"] == "realtime.publish_failed"]
        assert len(failures) == 1, logs
        assert failures[0]["log_level"] == "warning"
        assert failures[0]["event_ids"] == [str(envelope.id)]
    finally:
        await platform.close()
