"""Fault drills: a component fails under traffic and the service behaves as
docs/operations.md says, then recovers by itself. Each drill breaks its OWN throwaway
instance (a PostgreSQL cluster, a redis-server, an upload folder), never the machine's
shared services."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from marketplace.core.migrations import upgrade_to_head
from tests.cli.test_embedded_postgres import free_port
from tests.conftest import client_for, make_settings, started_app
from tests.events.test_outbox import eventually
from tests.factories import platform_of
from tests.operations.postgres_cluster import Cluster, postgres_bin_dir
from tests.trade.conftest import build_market, order_body

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
BUYERS = 4
OUTAGE_SECONDS = 1.5


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

    async def until(
        self, accepted: int = 0, refused: int = 0, since: float = 0, within_seconds: float = 60
    ) -> None:
        """Until this many orders were accepted in all, and this many refused (503) after
        `since` (a guard against a stuck drill, not a measurement)."""
        deadline = time.monotonic() + within_seconds
        while (
            len(self.accepted) < accepted
            or len([sent for sent, _ in self.unavailable if sent > since]) < refused
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"the traffic did not get there in {within_seconds} s")
            await asyncio.sleep(0.05)


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
            # The market's 1,000 bolts are 100 orders: a quiet machine places more than
            # that during the drill, and a sold-out product would answer 409, not 503.
            await session.execute(
                text("UPDATE products SET stock = 10000000 WHERE id = :id"),
                {"id": market.bolts.id},
            )
            await session.commit()
        traffic = Traffic()
        body = order_body((market.bolts, 10))
        async with client_for(app, timeout=30) as client:
            buyers = [
                asyncio.create_task(traffic.buyer(client, body, market.headers["owner"]))
                for _ in range(BUYERS)
            ]
            # Each phase lasts until the traffic has shown it (a loaded machine takes longer
            # than a fixed pause allowed): orders accepted before the outage, 503s during
            # it (for at least OUTAGE_SECONDS), orders accepted again after it.
            await traffic.until(accepted=BUYERS)
            before = len(traffic.accepted)
            await asyncio.to_thread(database_cluster.stop)
            stopped = time.monotonic()
            await asyncio.sleep(OUTAGE_SECONDS)
            await traffic.until(refused=BUYERS, since=stopped)
            starting = time.monotonic()
            await asyncio.to_thread(database_cluster.start)
            restarted = len(traffic.accepted)
            await traffic.until(accepted=restarted + BUYERS)
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


class RedisServer:
    """A redis-server of this test's own on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            ["redis-server", *options, "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_redis_stopped_degrades_and_recovers_by_itself(
    database_cluster: Cluster, redis_server: RedisServer
) -> None:
    """Without Redis the service keeps serving as `degraded`: request limits fail open
    (uncounted), sign-in codes fail closed (503), caches are bypassed; when Redis is
    back, all of it returns without a restart."""
    settings = make_settings(
        database_url=database_cluster.url,
        redis_url=redis_server.url,
        health_check_timeout_seconds=1.0,
    )
    otp = {"email": f"drill-{uuid.uuid4().hex[:8]}@example.com"}
    async for app in started_app(settings):
        async with client_for(app) as client:
            up = await client.get("/api/v1/categories")
            assert up.status_code == 200
            assert "ratelimit-limit" in up.headers
            assert (await client.post("/api/v1/auth/otp/request", json=otp)).status_code == 202

            redis_server.stop()
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert health.json()["components"]["cache"]["status"] == "down"
            for _ in range(3):
                down = await client.get("/api/v1/categories")  # the cache is bypassed
                assert down.status_code == 200, down.text
                assert "ratelimit-limit" not in down.headers  # allowed, uncounted
            refused = await client.post("/api/v1/auth/otp/request", json=otp)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == PROBLEM

            redis_server.start()

            async def recovered() -> bool:
                health = (await client.get("/health")).json()["status"]
                counted = "ratelimit-limit" in (await client.get("/api/v1/categories")).headers
                return health == "ok" and counted

            assert await eventually(recovered, True, within_seconds=20)
            again = await client.post("/api/v1/auth/otp/request", json=otp)
            assert again.status_code == 202, again.text
