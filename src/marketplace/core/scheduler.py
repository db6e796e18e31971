"""Periodic jobs (RFQ expiry, overdue orders, …) that run in every process that
delivers events, yet once per interval across all of them.

Each run takes a transaction-level advisory lock named after the job; a process
that cannot get it skips that round, so running the scheduler in every API process
and worker is safe. Jobs must be idempotent (they usually are conditional updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

JobFunction = Callable[[AsyncSession, Platform], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: JobFunction  # returns how many things it changed, for the log

    @property
    def lock_id(self) -> int:
        return 8_100_000_000 + zlib.crc32(self.name.encode())


async def run_job_once(platform: Platform, job: PeriodicJob) -> int | None:
    """Run the job in one transaction if no other process is running it now."""
    async with platform.database.session_factory() as session, session.begin():
        locked = await session.scalar(select(func.pg_try_advisory_xact_lock(job.lock_id)))
        if not locked:
            return None
        changed = await job.run(session, platform)
    if changed:
        logger.info("scheduler.job_ran", job=job.name, changed=changed)
    return changed


class Scheduler:
    def __init__(self, platform: Platform, jobs: Sequence[PeriodicJob]) -> None:
        self.platform = platform
        self.jobs = list(jobs)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job-{job.name}"))

    async def _loop(self, job: PeriodicJob) -> None:
        while not self._stopping.is_set():
            try:
                await run_job_once(self.platform, job)
            except Exception as error:  # a failing job must not stop the others
                logger.warning("scheduler.job_failed", job=job.name, error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), job.interval_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()
