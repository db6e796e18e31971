"""Statements compiled once and run on the driver belong to the session's transaction,
and take their parameters by name."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Column, MetaData, Table, Text, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.db import Database
from marketplace.core.driver import DriverStatement

notes = Table("probe_driver_notes", MetaData(), Column("label", Text, primary_key=True))
INSERT_NOTE = DriverStatement(insert(notes).values(label=bindparam("label")))
COUNT_NOTES = DriverStatement(
    select(func.count()).select_from(notes).where(notes.c.label.like(bindparam("pattern")))
)
TRANSACTION_TIME = DriverStatement(select(func.now(), func.clock_timestamp()))


@pytest.fixture
async def notes_table(database_url: str) -> None:
    raw = await asyncpg.connect(database_url)
    await raw.execute("CREATE TABLE IF NOT EXISTS probe_driver_notes (label text PRIMARY KEY)")
    await raw.close()


@pytest.fixture
async def database(database_url: str, notes_table: None) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        yield database
    finally:
        await database.dispose()


async def committed(database_url: str, label: str) -> bool:
    raw = await asyncpg.connect(database_url)
    try:
        return bool(
            await raw.fetchval("SELECT count(*) FROM probe_driver_notes WHERE label = $1", label)
        )
    finally:
        await raw.close()


async def test_the_first_statement_of_a_session_begins_its_transaction(
    database: Database, database_url: str
) -> None:
    label = f"rolled-back-{uuid.uuid4()}"
    async with database.session_factory() as session:
        first = await TRANSACTION_TIME.fetchrow(session)
        await INSERT_NOTE.fetch(session, label=label)
        await asyncio.sleep(0.01)
        second = await TRANSACTION_TIME.fetchrow(session)
        assert first[0] == second[0]  # now() is the transaction's start: one transaction
        assert first[1] < second[1]
        await session.rollback()
    assert not await committed(database_url, label)


async def test_driver_writes_commit_and_roll_back_with_the_session(
    database: Database, database_url: str
) -> None:
    kept, dropped = f"kept-{uuid.uuid4()}", f"dropped-{uuid.uuid4()}"
    async for session in database.session():
        await INSERT_NOTE.fetch(session, label=kept)

    async def failing_request() -> None:
        async for session in database.session():
            await INSERT_NOTE.fetch(session, label=dropped)
            raise RuntimeError("a failure after the write")

    with pytest.raises(RuntimeError):
        await failing_request()
    assert await committed(database_url, kept)
    assert not await committed(database_url, dropped)


@pytest.mark.usefixtures("notes_table")
async def test_parameters_are_taken_by_name_with_written_values_kept(
    db_session: AsyncSession,
) -> None:
    await INSERT_NOTE.fetch(db_session, label="named-a")
    await INSERT_NOTE.fetch(db_session, label="named-b")
    assert await COUNT_NOTES.fetchval(db_session, pattern="named-%") == 2
    visible = DriverStatement(
        select(func.count()).select_from(notes).where(notes.c.label == "named-a")
    )
    assert await visible.fetchval(db_session) == 1
    with pytest.raises(TypeError, match="unknown parameters"):
        await COUNT_NOTES.fetchval(db_session, patern="named-%")
