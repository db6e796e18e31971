"""Database engine, sessions and the declarative base every domain model uses."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import asyncpg
from sqlalchemy import DateTime, MetaData, event, func, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection
from sqlalchemy.util import await_

from marketplace.core.logging import get_logger

logger = get_logger(__name__)

# Stable constraint names make Alembic autogenerate and error translation predictable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


_URL_PREFIXES = ("postgresql+asyncpg://", "postgresql://", "postgres://")
# libpq's `sslmode` values; asyncpg takes the same ones.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def to_async_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and use the asyncpg driver."""
    for prefix in _URL_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def connection_url(url: str) -> str:
    """The URL asyncpg connects with: `postgresql://`, its parameters spelt as libpq's.

    asyncpg reads libpq's connection parameters from the URL itself (`sslmode`,
    `sslrootcert`, `sslcert`, `sslkey`, `sslcrl`, `host=` for a socket folder, ...), the
    spelling every managed PostgreSQL documents. SQLAlchemy's asyncpg dialect would
    instead pass each query parameter to `asyncpg.connect()` as a keyword argument, and
    there is no `sslmode` one (a TypeError at the first connection); so `create_engine`
    hands asyncpg this URL. `ssl=<mode>`, SQLAlchemy's spelling, is read as `sslmode`.
    Raises ValueError for what asyncpg would refuse only when connecting."""
    async_url = to_async_url(url)
    parts = urlsplit("postgresql://" + async_url.removeprefix("postgresql+asyncpg://"))
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _value in query]
    if "ssl" in names and "sslmode" in names:
        raise ValueError("give either ssl or sslmode, not both")
    query = [("sslmode" if name == "ssl" else name, value) for name, value in query]
    for name, value in query:
        if name == "sslmode" and value not in SSL_MODES:
            raise ValueError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="/")))


def create_engine(
    url: str, *, connect_args: dict[str, Any] | None = None, **options: Any
) -> AsyncEngine:
    """An engine whose connections asyncpg opens from the URL itself (`connection_url`),
    with `connect_args` as further keyword arguments of `asyncpg.connect()`."""
    dsn = connection_url(url)
    arguments = connect_args or {}

    async def connect() -> Any:
        return await asyncpg.connect(dsn, **arguments)

    return create_async_engine(to_async_url(url), async_creator=connect, **options)


_RETURNED_AT = "marketplace.returned_at"


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat unused for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: three round trips with the
    asyncpg driver (BEGIN, an empty query, ROLLBACK), about 7% of order throughput;
    this ping is the empty query alone.
    Under load connections come back within milliseconds and need none; a connection
    that idled (through a database restart, a firewall timeout) is pinged and, if
    dead, replaced before the request sees it. A connection that dies while in use
    fails that request, and SQLAlchemy then renews the whole pool."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            # The server closed it (a restart, a replica stopping): asyncpg knows without
            # a round trip. Replaced, instead of failing the request that would get it.
            raise DisconnectionError("the server closed this connection")
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < idle_seconds:
            return
        try:
            # An empty statement on the driver: one round trip. The adapter's `ping()`
            # wraps it in BEGIN and ROLLBACK (for pgbouncer's transaction mode, which
            # this service does not use): three.
            await_(dbapi_connection.driver_connection.fetchrow(";"))
        except Exception as error:
            logger.warning("database.idle_connection_replaced", error=repr(error))
            # The pool discards this connection and checks out another (or a new one).
            raise DisconnectionError("idle connection failed its ping") from error


class WaitCountingPool(AsyncAdaptedQueuePool):
    """The asyncio queue pool, counting the checkouts in progress: callers waiting for a
    connection to come back (or for one to be opened, or pinged after idling). Above
    zero for long, the pool is too small for the load or something holds connections
    while it waits for more; the `waiting` gauge shows it."""

    waiting = 0

    def connect(self) -> PoolProxiedConnection:
        self.waiting += 1
        try:
            return super().connect()
        finally:
            self.waiting -= 1


_TRANSACTION_MEMO = "marketplace.transaction_memo"


def transaction_memo(session: AsyncSession) -> dict[str, Any] | None:
    """A dict that lives as long as the session's current transaction (None while no
    transaction has begun): what a transaction has set up once, like the driver
    connection or a planner setting, without asking the database again."""
    transaction = session.sync_session.get_transaction()
    if transaction is None:
        return None
    held = session.info.get(_TRANSACTION_MEMO)
    if held is None or held[0] is not transaction:
        held = session.info[_TRANSACTION_MEMO] = (transaction, {})
    memo: dict[str, Any] = held[1]
    return memo


# The database cannot be reached, or dropped the connection: refused, reset, a server
# starting up or shutting down, a connection it terminated mid-transaction (asyncpg
# raises these unwrapped from `connect` and from core/driver.py's statements).
CONNECTION_BROKEN: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,
)


def connection_broken(error: BaseException) -> bool:
    """True for a failure to reach the database or a connection it dropped, not for an
    error of the statement itself. Looks through SQLAlchemy's wrapping (`DBAPIError`, and
    the dialect's own DBAPI errors, which core/driver.py's statements raise unwrapped) to
    the driver's exception."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    found: BaseException | None = error
    for _ in range(4):
        if found is None:
            return False
        if isinstance(found, CONNECTION_BROKEN):
            return True
        found = getattr(found, "orig", None) or found.__cause__
    return False


async def roll_back_or_discard(session: AsyncSession, error: BaseException) -> None:
    """After a failure: roll back, or, when the connection broke (the server went away,
    or left the driver mid-operation) or the rollback fails, invalidate it, so that the
    pool opens a new one instead of handing the broken one to the next request. The
    caller re-raises `error`, which says what happened."""
    if not connection_broken(error):
        try:
            await session.rollback()
            return
        except (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as failed:
            error = failed
    logger.warning("database.connection_discarded", error=repr(error))
    await session.invalidate()


class Database:
    """The pooled engine and the session factory of one process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 10.0,
        statement_timeout_ms: int = 30_000,
        application_name: str = "marketplace",
        ping_after_idle_seconds: float = 1.0,
    ) -> None:
        connect_args: dict[str, Any] = {
            "server_settings": {
                "application_name": application_name,
                "statement_timeout": str(statement_timeout_ms),
                # Short transactional queries: JIT compilation costs more than it can
                # save (pricing every search match made the planner JIT-compile for
                # 1.2 s a query that ran in milliseconds).
                "jit": "off",
            },
            "timeout": pool_timeout,
        }
        self.url = to_async_url(url)
        self._url = url
        self._options: dict[str, Any] = {
            "pool_timeout": pool_timeout,
            "statement_timeout_ms": statement_timeout_ms,
            "application_name": application_name,
            "ping_after_idle_seconds": ping_after_idle_seconds,
        }
        self.pool_size = pool_size
        # Every connection opened is kept, up to pool_size + max_overflow: SQLAlchemy
        # closes an overflow connection that comes back while pool_size others are
        # idle, and the next burst opens it again. Under the benchmark's 64 connections
        # the fast reads made bursts like that all the time: opening connections (the
        # TLS request, authentication, asyncpg's type introspection) was 20-25% of the
        # CPU of an uncached product read and of /health/ready (py-spy, bench/README.md
        # "Changes and their measured effect", 10). The ceiling is unchanged, and
        # asyncpg's own pool, the baselines', keeps its connections too.
        self.engine: AsyncEngine = create_engine(
            url,
            poolclass=WaitCountingPool,
            pool_size=pool_size + max_overflow,
            max_overflow=0,
            pool_timeout=pool_timeout,
            connect_args=connect_args,
        )
        _ping_when_idle(self.engine, ping_after_idle_seconds)
        self.session_factory: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False
        )
        # The same pool, each statement its own transaction (`read_outside_transaction`).
        self.autocommit_engine: AsyncEngine = self.engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
        # Set by the event delivery: called after a commit that wrote outbox events.
        self.after_commit_with_events: Callable[[], None] | None = None

    async def session(self) -> AsyncIterator[AsyncSession]:
        """One session and one transaction per unit of work: commit on success, else roll back."""
        async with self.session_factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException as error:
                await roll_back_or_discard(session, error)
                raise
            if session.info.pop("outbox_dirty", False) and self.after_commit_with_events:
                self.after_commit_with_events()

    def read_outside_transaction(self, session: AsyncSession) -> bool:
        """Send the rest of `session`'s statements without BEGIN and COMMIT, if it has
        not begun a transaction yet: for a request that only reads, with one statement
        or several that need no common snapshot. True when it did.

        asyncpg runs a statement sent outside a transaction block in a transaction of
        its own: BEGIN and COMMIT were two of the three round trips of an anonymous
        product read, and the session's commit machinery about 0.1 ms of CPU more
        (bench/README.md, "Changes and their measured effect", 10). The connection
        comes from the same pool, its isolation level set and reset on the client side
        (no statement). A session that has begun (a signed-in caller's credential was
        read through it) keeps its transaction, so that a request never holds two
        connections and never mixes the two kinds."""
        sync = session.sync_session
        if sync.in_transaction() or sync.bind is not self.engine.sync_engine:
            return False
        sync.bind = self.autocommit_engine.sync_engine
        return True

    def dedicated(self, purpose: str) -> Database:
        """A database of one connection, outside this pool, for work that holds a
        connection while the work it waits for takes pooled ones (the relay's locks
        while in-process consumers run). Holding a pooled connection for that would
        wait for a second one while holding the first. Dispose of it when done."""
        options = {
            **self._options,
            "application_name": f"{self._options['application_name']}-{purpose}",
        }
        return Database(self._url, pool_size=1, max_overflow=0, **options)

    def pool_status(self) -> dict[str, int]:
        pool: Any = self.engine.pool
        checked_out, idle = int(pool.checkedout()), int(pool.checkedin())
        return {
            "size": self.pool_size,
            "checked_out": checked_out,
            "idle": idle,
            # The connections open beyond pool_size (kept once opened, see __init__).
            "overflow": max(checked_out + idle - self.pool_size, 0),
            "waiting": int(getattr(pool, "waiting", 0)),
        }

    async def dispose(self) -> None:
        await self.engine.dispose()
