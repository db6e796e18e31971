"""Periodic jobs run once per round across processes, and a failure stops nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.platform import Platform
from marketplace.core.scheduler import PeriodicJob, Scheduler, run_job_once
from tests.conftest import make_settings


async def test_only_one_process_runs_a_job_at_a_time(platform: Platform) -> None:
    running = 0
    peak = 0

    async def slow(session: AsyncSession, platform: Platform) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.3)
        running -= 1
        return 1

    job = PeriodicJob(name="probe-exclusive", interval_seconds=60, run=slow)
    results = await asyncio.gather(*(run_job_once(platform, job) for _ in range(4)))
    assert sorted(results, key=lambda value: value is None) == [1, None, None, None]
    assert peak == 1


async def test_a_failing_job_does_not_stop_the_scheduler(platform: Platform) -> None:
    calls = {"broken": 0, "healthy": 0}

    async def broken(session: AsyncSession, platform: Platform) -> int:
        calls["broken"] += 1
        raise RuntimeError("bug")

    async def healthy(session: AsyncSession, platform: Platform) -> int:
        calls["healthy"] += 1
        return 0

    scheduler = Scheduler(
        platform,
        [
            PeriodicJob(name="probe-broken", interval_seconds=0.05, run=broken),
            PeriodicJob(name="probe-healthy", interval_seconds=0.05, run=healthy),
        ],
    )
    scheduler.start()
    await asyncio.sleep(0.5)
    await scheduler.stop()
    assert calls["broken"] >= 3
    assert calls["healthy"] >= 3


async def test_every_job_runs_on_a_pool_of_one_connection(database_url: str) -> None:
    """No job holds the scheduler's connection while it asks the pool for another: on a
    pool of one that would wait out the pool timeout (and under load, several such
    waiters starve the pool of a whole process)."""
    from marketplace.jobs import build_jobs

    platform = await Platform.start(
        make_settings(
            database_url=database_url,
            database_pool_size=1,
            database_max_overflow=0,
            database_pool_timeout=2,
        )
    )
    try:
        for job in build_jobs():
            changed = await run_job_once(platform, job)
            assert changed is None or changed >= 0, job.name
            assert platform.database.pool_status()["checked_out"] == 0
    finally:
        await platform.close()
