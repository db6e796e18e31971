"""Read replicas: where read-only work runs, and which replicas may take it.

A route declares read-only work by taking `ReadSessionDep` instead of `SessionDep`.
On a usable streaming replica that is a `ReadSession`, whose transaction is `READ ONLY`
(asyncpg starts it so, no extra statement; a standby refuses writes anyway). With no
usable replica it is the request's own transaction on the primary: a second primary
connection per request would double the pool's use and can deadlock a bounded pool.
Writes, and reads that must see the caller's own write, keep `SessionDep`.

Usable means reachable, in recovery (a standby) and at most `max_lag_seconds` behind
the primary. A background check measures that every `check_interval_seconds`, not each
request: it samples the primary's WAL position and compares each replica's replayed
position with the samples, so the lag is the age of the newest primary position the
replica has replayed (an idle primary writes no WAL, and a caught-up replica reads 0,
unlike `now() - pg_last_xact_replay_timestamp()`). A replica that fails, falls behind
or is not a standby is skipped, with a log line and `db_replica_skips_total`; it takes
reads again after a check finds it usable. A replica that refuses the connection of a
request is skipped at once and the primary serves that request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.core.db import Database, connection_broken, roll_back_or_discard
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

SkipReason = Literal["unreachable", "lagging", "not_a_standby"]
# What a broken replica raises: refused or lost connections, timeouts, server errors.
_FAILURES = (OSError, SQLAlchemyError, asyncpg.PostgresError, TimeoutError)
# A replica's connection attempt gives up after this long (the primary's may take the
# pool timeout): a replica that does not answer is skipped, not waited for.
REPLICA_CONNECT_TIMEOUT_SECONDS = 2.0


class ReadSession(AsyncSession):
    """A session whose transaction is read-only, on a replica or the primary."""


def _read_only_factory(engine: AsyncEngine) -> async_sessionmaker[ReadSession]:
    return async_sessionmaker(
        engine.execution_options(postgresql_readonly=True),
        class_=ReadSession,
        expire_on_commit=False,
        autoflush=False,
    )


def replica_name(url: str) -> str:
    """host:port/database, without credentials: for logs and metric labels."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


@dataclass
class Replica:
    name: str
    database: Database
    factory: async_sessionmaker[ReadSession]
    # Not before a check has found it usable.
    usable: bool = False
    lag_seconds: float = 0.0
    skipped_for: SkipReason | None = None


@dataclass
class _PrimaryPositions:
    """(monotonic time, WAL position) samples of the primary, oldest first."""

    keep_seconds: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, at: float, position: int) -> None:
        self.samples.append((at, position))
        while len(self.samples) > 1 and at - self.samples[0][0] > self.keep_seconds:
            self.samples.popleft()

    def lag(self, replayed: int, now: float) -> float:
        """Seconds since the primary was at the newest sampled position the replica has
        replayed; at least the age of the oldest sample when it replayed none of them."""
        newest_replayed = None
        for at, position in self.samples:
            if position <= replayed:
                newest_replayed = at
        if newest_replayed is None:
            return now - self.samples[0][0] if self.samples else 0.0
        if newest_replayed == self.samples[-1][0]:
            return 0.0
        return now - newest_replayed


class ReadReplicas:
    """The read sessions of one process: round robin over the usable replicas, the
    request's own transaction on the primary when none is (or none is configured)."""

    def __init__(
        self,
        primary: Database,
        urls: list[str],
        *,
        max_lag_seconds: float = 5.0,
        check_interval_seconds: float = 1.0,
        pool_size: int = 10,
        max_overflow: int = 10,
        statement_timeout_ms: int = 30_000,
    ) -> None:
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.check_interval_seconds = check_interval_seconds
        self.replicas: list[Replica] = []
        for url in urls:
            database = Database(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=REPLICA_CONNECT_TIMEOUT_SECONDS,
                statement_timeout_ms=statement_timeout_ms,
                application_name="marketplace-read",
            )
            self.replicas.append(
                Replica(replica_name(url), database, _read_only_factory(database.engine))
            )
        self._turn = itertools.count()
        self._positions = _PrimaryPositions(keep_seconds=max_lag_seconds * 2 + 10)
        self._checker: asyncio.Task[None] | None = None
        # Set by the metrics: called with the replica's name and the reason it is skipped.
        self.on_skip: Callable[[str, SkipReason], None] | None = None

    def _next_replica(self) -> Replica | None:
        usable = [replica for replica in self.replicas if replica.usable]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    async def session(self, primary: AsyncSession) -> AsyncIterator[AsyncSession]:
        """A session for one unit of read-only work: a read-only transaction on a usable
        replica (its connection taken at once, so that a replica that refuses it is
        skipped before any work starts), else `primary`, the request's own transaction,
        so that a request never holds two connections of the primary's pool (waiting for
        a second while holding the first is how a bounded pool deadlocks)."""
        replica = self._next_replica()
        if replica is None:
            yield primary
            return
        session = replica.factory()
        try:
            await session.connection()
        except _FAILURES as error:
            await session.close()
            self._skip(replica, "unreachable", error=repr(error))
            yield primary
            return
        async with session:
            try:
                yield session
                await session.commit()
            except BaseException as error:
                await roll_back_or_discard(session, error)
                if connection_broken(error):
                    # This request fails (its work may have been half done); the next
                    # ones go elsewhere until a check finds the replica usable again.
                    self._skip(replica, "unreachable", error=repr(error))
                raise

    def _skip(self, replica: Replica, reason: SkipReason, **details: object) -> None:
        replica.usable = False
        if replica.skipped_for == reason:
            return
        replica.skipped_for = reason
        logger.warning("database.replica_skipped", replica=replica.name, reason=reason, **details)
        if self.on_skip is not None:
            self.on_skip(replica.name, reason)

    def _restore(self, replica: Replica) -> None:
        if not replica.usable:
            logger.info("database.replica_usable", replica=replica.name, lag=replica.lag_seconds)
        replica.usable = True
        replica.skipped_for = None

    async def check(self) -> None:
        """Measure each replica once: reachable, a standby, and within the lag bound."""
        if not self.replicas:
            return
        try:
            async with self.primary.engine.connect() as connection:
                position = (
                    await connection.execute(text("SELECT pg_current_wal_lsn() - '0/0'"))
                ).scalar_one()
        except _FAILURES as error:
            # Without the primary nothing can be compared (and nothing written to lag).
            logger.warning("database.replica_check_without_primary", error=repr(error))
            return
        self._positions.add(time.monotonic(), int(position))
        await asyncio.gather(*(self._check_replica(replica) for replica in self.replicas))

    async def _check_replica(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(REPLICA_CONNECT_TIMEOUT_SECONDS * 2):
                async with replica.database.engine.connect() as connection:
                    standby, replayed = (
                        await connection.execute(
                            text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() - '0/0'")
                        )
                    ).one()
        except _FAILURES as error:
            self._skip(replica, "unreachable", error=repr(error))
            return
        if not standby or replayed is None:
            self._skip(replica, "not_a_standby")
            return
        replica.lag_seconds = self._positions.lag(int(replayed), time.monotonic())
        if replica.lag_seconds > self.max_lag_seconds:
            self._skip(replica, "lagging", lag=round(replica.lag_seconds, 3))
            return
        self._restore(replica)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval_seconds)
            await self.check()

    async def start(self) -> None:
        """Check each replica once, then every `check_interval_seconds` in the background."""
        if self.replicas and self._checker is None:
            await self.check()
            self._checker = asyncio.create_task(self._check_forever(), name="replica-check")

    def status(self) -> dict[str, tuple[bool, float]]:
        """Each replica's name: (usable, lag in seconds at the last check)."""
        return {replica.name: (replica.usable, replica.lag_seconds) for replica in self.replicas}

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        for replica in self.replicas:
            await replica.database.dispose()
