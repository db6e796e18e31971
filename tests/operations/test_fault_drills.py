"""Fault drills: a component fails under traffic and the service behaves as
docs/operations.md says, then recovers by itself. Each drill breaks its OWN throwaway
instance (a PostgreSQL cluster, a redis-server, an upload folder), never the machine's
shared services."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from marketplace.core.migrations import upgrade_to_head
from tests.conftest import client_for, make_settings, started_app
from tests.factories import platform_of
from tests.operations.postgres_cluster import Cluster, postgres_bin_dir
from tests.trade.conftest import build_market, order_body

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


@pytest.fixture
async def database_cluster(workspace: tuple[Path, list[str]]) -> AsyncIterator[Cluster]:
    root, run_as = workspace
    cluster = Cluster.started(postgres_bin_dir(), root / "drill", run_as, fsync="off")
    try:
        await asyncio.to_thread(upgrade_to_head, cluster.url)
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Traffic:
    """Buyers placing orders, each retried with its Idempotency-Key until accepted."""

    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key: order id
    statuses: list[int] = field(default_factory=list)
    # (when it was sent, how long its 503 took)
    unavailable: list[tuple[float, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    running: bool = True

    async def buyer(
        self, client: httpx.AsyncClient, body: dict[str, object], headers: dict[str, str]
    ) -> None:
        while self.running:
            key = f"drill-{uuid.uuid4()}"
            while True:
                started = time.monotonic()
                response = await client.post(
                    "/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key}
                )
                self.statuses.append(response.status_code)
                if response.status_code == 201:
                    self.accepted[key] = response.json()["id"]
                    break
                assert response.status_code == 503, response.text
                self.unavailable.append((started, time.monotonic() - started))
                self.problems.append(response.headers["content-type"])
                await asyncio.sleep(0.2)


async def test_postgresql_restarted_under_load(database_cluster: Cluster) -> None:
    """Orders keep coming while PostgreSQL restarts: during the outage each gets a quick
    503 problem; afterwards the same process serves again (its pool renewed itself),
    and every accepted order exists exactly once."""
    settings = make_settings(
        database_url=database_cluster.url,
        outbox_relay_enabled=False,
        rate_limit_user="100000/minute",
        database_pool_timeout=3.0,
    )
    async for app in started_app(settings):
        async with platform_of(app).database.session_factory() as session:
            market = await build_market(app, session)
            await session.commit()
        traffic = Traffic()
        body = order_body((market.bolts, 10))
        async with client_for(app, timeout=30) as client:
            buyers = [
                asyncio.create_task(traffic.buyer(client, body, market.headers["owner"]))
                for _ in range(4)
            ]
            await asyncio.sleep(1.5)
            before = len(traffic.accepted)
            await asyncio.to_thread(database_cluster.stop)
            stopped = time.monotonic()
            await asyncio.sleep(1.5)
            starting = time.monotonic()
            await asyncio.to_thread(database_cluster.start)
            await asyncio.sleep(2.5)
            traffic.running = False
            await asyncio.wait_for(asyncio.gather(*buyers), 60)
            # The same process answers at once again: no restart needed.
            response = await client.post(
                "/api/v1/orders",
                json=body,
                headers={**market.headers["owner"], "Idempotency-Key": f"after-{uuid.uuid4()}"},
            )
            assert response.status_code == 201, response.text
            traffic.accepted["after"] = response.json()["id"]
        async with platform_of(app).database.session_factory() as session:
            stored = (
                (
                    await session.execute(
                        text("SELECT id::text FROM orders WHERE buyer_id = :buyer"),
                        {"buyer": market.buyer.id},
                    )
                )
                .scalars()
                .all()
            )
    assert before > 0, "orders were accepted before the outage"
    during_outage = [took for sent, took in traffic.unavailable if stopped < sent < starting]
    assert during_outage, "the outage was seen"
    # Sent while the server was down: refused at once. (Those in flight when it stopped
    # took as long as its shutdown did.)
    assert max(during_outage) < 1.0, "503s are answered fast"
    assert set(traffic.statuses) == {201, 503}
    assert set(traffic.problems) == {PROBLEM}
    assert sorted(stored) == sorted(traffic.accepted.values()), "none lost, none doubled"
    assert len(set(traffic.accepted.values())) == len(traffic.accepted)
