"""Read replicas on a real streaming replica: a throwaway primary, a standby made from it
with `pg_basebackup -R`, and the application pointed at both (DATABASE_REPLICA_URLS).

Which server answered is read from the data itself: with the standby's replay paused, a
category renamed on the primary keeps its old name on the standby. So the old name in a
response means the replica served it; the new one, the primary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from structlog.testing import capture_logs

from marketplace.core.db import Database, to_async_url
from marketplace.core.migrations import upgrade_to_head
from marketplace.core.replicas import ReadReplicas
from tests.conftest import client_for, make_settings, started_app
from tests.events.test_outbox import eventually
from tests.factories import make_category, platform_of
from tests.operations.postgres_cluster import Cluster, fetch_value, postgres_bin_dir

pytestmark = pytest.mark.slow

MAX_LAG_SECONDS = 3.0


async def _execute(url: str, statement: str) -> None:
    engine = create_async_engine(to_async_url(url))
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def clusters(workspace: tuple[Path, list[str]]) -> AsyncIterator[tuple[Cluster, Cluster]]:
    """A migrated primary and its streaming standby, both running."""
    root, run_as = workspace
    bin_dir = postgres_bin_dir()
    primary = Cluster.started(bin_dir, root / "primary", run_as, wal_level="replica", fsync="off")
    standby = Cluster(bin_dir, root / "standby", run_as)
    try:
        await asyncio.to_thread(upgrade_to_head, primary.url)
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data), "--checkpoint=fast", "--wal-method=stream", "-R",
        )  # fmt: skip
        standby.configure(unix_socket_directories=str(root))
        standby.start()
        try:
            yield primary, standby
        finally:
            standby.stop()
    finally:
        primary.stop()


async def test_reads_go_to_a_replica_and_to_the_primary_when_it_lags_or_stops(
    clusters: tuple[Cluster, Cluster],
) -> None:
    primary, standby = clusters
    engine = create_async_engine(to_async_url(primary.url))
    async with async_sessionmaker(engine)() as session:
        await make_category(session, slug="pumps", name="Pumps")
        await session.commit()
    await engine.dispose()
    settings = make_settings(
        database_url=primary.url,
        database_replica_urls=standby.url,
        database_replica_max_lag_seconds=MAX_LAG_SECONDS,
        database_replica_check_interval_seconds=0.2,
        outbox_relay_enabled=False,
    )
    async for app in started_app(settings):
        replicas: ReadReplicas = platform_of(app).replicas
        async with client_for(app) as client:

            async def name() -> str:
                response = await client.get("/api/v1/categories/pumps")
                assert response.status_code == 200, response.text
                return str(response.json()["name"])

            async def metric(line: str) -> bool:
                return line in (await client.get("/metrics")).text

            # The replica serves: replay paused, the primary's rename is not seen.
            assert await eventually(lambda: _replayed(standby.url, "pumps"), True, 15)
            assert replicas.status() == {standby_name(standby): (True, 0.0)}
            with capture_logs() as logs:
                await fetch_value(standby.url, "SELECT pg_wal_replay_pause()")
                await _execute(primary.url, "UPDATE categories SET name = 'Pumps and valves'")
                assert await name() == "Pumps"
                # Behind by more than the bound: skipped, and the primary serves.
                assert await eventually(lambda: _named(name, "Pumps and valves"), True, 15)
                # Measured as lagging (on a loaded machine a check may first time out,
                # which skips it as unreachable).
                lagging = (
                    f'db_replica_skips_total{{reason="lagging",replica="{standby_name(standby)}"}}'
                )
                assert await eventually(partial(metric, lagging), True, 15)
            skipped = [log for log in logs if log["event"] == "database.replica_skipped"]
            assert "lagging" in {log["reason"] for log in skipped}, skipped
            # Caught up: the replica takes reads again.
            await fetch_value(standby.url, "SELECT pg_wal_replay_resume()")
            assert await eventually(partial(_usable, replicas), True, 15)
            await fetch_value(standby.url, "SELECT pg_wal_replay_pause()")
            await _execute(primary.url, "UPDATE categories SET name = 'Valves'")
            assert await name() == "Pumps and valves"  # from the replica again
            await fetch_value(standby.url, "SELECT pg_wal_replay_resume()")

            # The replica stops: every read is still answered, by the primary.
            standby.stop()
            await asyncio.sleep(0.3)  # the event loop reads the server's goodbye
            for _ in range(5):
                assert await name() == "Valves"
            assert not replicas.status()[standby_name(standby)][0]
            assert await metric(f'db_replica_usable{{replica="{standby_name(standby)}"}} 0.0')
            assert await metric(
                f'db_replica_skips_total{{reason="unreachable",replica="{standby_name(standby)}"}}'
            )


def standby_name(standby: Cluster) -> str:
    return f"127.0.0.1:{standby.port}/postgres"


async def _replayed(url: str, slug: str) -> bool:
    return bool(await fetch_value(url, f"SELECT 1 FROM categories WHERE slug = '{slug}'"))


async def _named(name: Callable[[], Awaitable[str]], expected: str) -> bool:
    return await name() == expected


async def _usable(replicas: ReadReplicas) -> bool:
    return all(usable for usable, _lag in replicas.status().values())


async def test_without_a_usable_replica_reads_share_the_request_s_transaction(
    database_url: str,
) -> None:
    """No second connection of the primary's pool per request (core/replicas.py)."""
    database = Database(database_url, pool_size=1, max_overflow=0)
    replicas = ReadReplicas(database, [])
    try:
        async with database.session_factory() as primary:
            sessions = replicas.session(primary)
            assert await anext(sessions) is primary
            with pytest.raises(StopAsyncIteration):
                await anext(sessions)
    finally:
        await replicas.close()
        await database.dispose()
