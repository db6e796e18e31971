"""Every SQL statement a request sends on the test's connection: those SQLAlchemy runs
(its cursor events) and those the driver path runs straight on asyncpg (`core/driver.py`,
asyncpg's query logger). The savepoints that stand in for each request's transaction
(tests/conftest.py) are kept apart, in `Sent.transactions`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Sent:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0  # savepoints begun: one per request transaction

    def __len__(self) -> int:
        return len(self.statements)

    def count(self, fragment: str) -> int:
        return sum(fragment in statement for statement in self.statements)


@asynccontextmanager
async def statements_sent(session: AsyncSession) -> AsyncIterator[Sent]:
    sent = Sent()
    engine = session.get_bind().engine
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None

    def record(statement: str) -> None:
        upper = statement.lstrip().upper()
        if upper.startswith("SAVEPOINT"):
            sent.transactions += 1
        elif not upper.startswith(("RELEASE SAVEPOINT", "ROLLBACK TO")):
            sent.statements.append(statement)

    def cursor(*arguments: Any) -> None:
        record(arguments[2])  # (connection, cursor, statement, ...)

    def logged(query: Any) -> None:
        record(query.query)

    event.listen(engine, "before_cursor_execute", cursor)
    driver.add_query_logger(logged)
    try:
        yield sent
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
    finally:
        event.remove(engine, "before_cursor_execute", cursor)
        driver.remove_query_logger(logged)
