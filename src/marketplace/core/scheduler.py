"""Periodic jobs (RFQ expiry, overdue orders, …) that run in every process that
delivers events, yet once per interval across all of them.

Each run takes a transaction-level advisory lock named after the job; a process
that cannot get it skips that round, so running the scheduler in every API process
and worker is safe. Jobs must be idempotent (they usually are conditional updates).

A job that must commit between its steps (claim rows, send messages, record the
outcome) cannot run in that transaction: opening sessions of its own while the
scheduler's holds a connection would wait for a second pooled connection while
holding one, and a few such waiters starve the pool. It is a `LeasedJob`: it
coordinates through leases on its rows, so every process may run it at once, and
the scheduler gives it neither lock nor session.
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
LeasedJobFunction = Callable[[Platform], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: JobFunction  # returns how many things it changed, for the log

    @property
    def lock_id(self) -> int:
        return 8_100_000_000 + zlib.crc32(self.name.encode())


@dataclass(frozen=True)
class LeasedJob:
    """A periodic job that claims its rows with leases and opens its own short
    sessions, one at a time."""

    name: str
    interval_seconds: float
    run: LeasedJobFunction  # returns how many things it changed, for the log


async def run_job_once(platform: Platform, job: PeriodicJob | LeasedJob) -> int | None:
    """Run the job: a `PeriodicJob` in one transaction if no other process is running
    it now (None when one is), a `LeasedJob` as it is."""
    if isinstance(job, LeasedJob):
        changed: int | None = await job.run(platform)
    else:
        async with platform.database.session_factory() as session, session.begin():
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(job.lock_id)))
            if not locked:
                return None
            changed = await job.run(session, platform)
    if changed:
        logger.info("scheduler.job_ran", job=job.name, changed=changed)
    return changed


class Scheduler:
    def __init__(self, platform: Platform, jobs: Sequence[PeriodicJob | LeasedJob]) -> None:
        self.platform = platform
        self.jobs = list(jobs)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job-{job.name}"))

    async def _loop(self, job: PeriodicJob | LeasedJob) -> None:
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
