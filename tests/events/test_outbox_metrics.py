"""What /metrics tells about the outbox: its backlog (read when scraped), the events
published, and the events given up after MAX_PUBLISH_ATTEMPTS (the dead-letter alert)."""

from __future__ import annotations

import math

import asyncpg
import pytest

from marketplace.core.consumers import ConsumerRegistry, InProcessPublisher
from marketplace.core.db import Database
from marketplace.core.metrics import Metrics
from marketplace.core.outbox import MAX_PUBLISH_ATTEMPTS, OutboxRelay, PublishFailed, outbox_backlog
from marketplace.core.platform import Platform
from tests.events.test_outbox import emit_probe, failing_on


def value(metrics: Metrics, name: str) -> float:
    sample = metrics.registry.get_sample_value(name)
    assert sample is not None, name
    return sample


async def test_backlog_published_and_dead_lettered_events_are_counted(
    platform: Platform, effects: asyncpg.Connection
) -> None:
    metrics = Metrics()
    metrics.watch_outbox(lambda: outbox_backlog(platform.database), 5.0)
    await metrics.refresh()
    assert value(metrics, "outbox_unpublished_events") == 0
    assert value(metrics, "outbox_oldest_unpublished_age_seconds") == 0

    await emit_probe(platform, commit=True, note="poison")
    await effects.execute("UPDATE outbox_events SET occurred_at = now() - interval '90 seconds'")
    await emit_probe(platform, commit=False, note="rolled back")
    await metrics.refresh()

    assert value(metrics, "outbox_unpublished_events") == 1
    assert 90 <= value(metrics, "outbox_oldest_unpublished_age_seconds") < 120

    registry = ConsumerRegistry([failing_on({"poison"})])
    relay = OutboxRelay(
        platform.database,
        InProcessPublisher(platform, registry),
        metrics_registry=metrics.registry,
    )
    for _ in range(MAX_PUBLISH_ATTEMPTS):
        with pytest.raises(PublishFailed):
            await relay.run_once()
    await emit_probe(platform, commit=True, note="fine")
    assert await relay.run_once() == 1
    await metrics.refresh()

    assert value(metrics, "outbox_events_dead_lettered_total") == 1
    assert value(metrics, "outbox_events_published_total") == 1
    assert value(metrics, "outbox_unpublished_events") == 0
    assert await effects.fetchval("SELECT count(*) FROM probe_effects") == 1


async def test_an_unreadable_backlog_is_not_a_number_rather_than_a_stale_figure() -> None:
    unreachable = Database("postgresql://postgres@127.0.0.1:1/nowhere", pool_size=1)
    metrics = Metrics()
    metrics.outbox_unpublished.set(0)
    metrics.watch_outbox(lambda: outbox_backlog(unreachable), 5.0)
    try:
        await metrics.refresh()
    finally:
        await unreachable.dispose()

    assert math.isnan(value(metrics, "outbox_unpublished_events"))
    assert math.isnan(value(metrics, "outbox_oldest_unpublished_age_seconds"))
