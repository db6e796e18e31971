"""Hot-path statements: written with SQLAlchemy, compiled once, run on the driver.

Building, caching and running a statement through SQLAlchemy costs 0.3-0.6 ms of CPU
per statement on the benchmark machine; asyncpg alone runs it for under 0.1 ms. Where
that is the measured bottleneck (order placement, see bench/README.md), a repository
writes the statement once with SQLAlchemy, so that tables, columns and shared
conditions keep their one definition, and runs it through `DriverStatement`: compiled
once to PostgreSQL's `$n` form, sent through the session's own asyncpg connection,
inside the session's transaction.

Rows come back as asyncpg records, with the types the driver decodes (UUID, Decimal,
datetime, JSON as Python objects through the codecs SQLAlchemy installs). The ORM
does not see these statements: nothing is loaded into the session and nothing written
this way is flushed or expired, so they suit reads and inserts of rows the request
does not also change through the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# The engine's dialect: `$n` parameters and the casts it adds to them.
_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class DriverStatement:
    """A statement compiled once; its bind parameters are filled by name per call."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        if compiled.positiontup is None:
            raise ValueError("the dialect did not number the parameters")
        self.sql = str(compiled)
        self._names = tuple(compiled.positiontup)
        # Values written into the statement (`status == "active"`) are parameters too.
        self._bound = {name: compiled.params[name] for name in self._names}

    def _arguments(self, values: Mapping[str, Any]) -> list[Any]:
        unknown = values.keys() - self._bound.keys()
        if unknown:
            raise TypeError(f"unknown parameters: {sorted(unknown)}")
        return [values[name] if name in values else self._bound[name] for name in self._names]

    async def fetch(self, session: AsyncSession, **values: Any) -> list[asyncpg.Record]:
        connection = await driver_connection(session)
        return list(await connection.fetch(self.sql, *self._arguments(values)))

    async def fetchrow(self, session: AsyncSession, **values: Any) -> asyncpg.Record | None:
        connection = await driver_connection(session)
        return await connection.fetchrow(self.sql, *self._arguments(values))

    async def fetchval(self, session: AsyncSession, **values: Any) -> Any:
        connection = await driver_connection(session)
        return await connection.fetchval(self.sql, *self._arguments(values))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, that transaction begun."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy sends BEGIN with its first statement: have it send one now, so
        # that what follows is part of the session's transaction, not autocommitted.
        await connection.execute(text("SELECT 1"))
    return driver
