"""Statements compiled once and run on the driver belong to the session's transaction,
and take their parameters by name."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
import sqlalchemy
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    MetaData,
    Table,
    Text,
    Uuid,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace.core.db import Database
from marketplace.core.driver import (
    ADAPTER_BEGIN,
    ASYNCPG_PLAN_EACH_RUN,
    DriverStatement,
    EntityQuery,
    begin_in_adapter,
    insert_rows,
)

notes = Table("probe_driver_notes", MetaData(), Column("label", Text, primary_key=True))


class ProbeBase(DeclarativeBase):
    pass


class ProbeRow(ProbeBase):
    __tablename__ = "probe_driver_rows"

    number: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    label_text: Mapped[str] = mapped_column("label", Text)  # attribute named apart
    kind: Mapped[str] = mapped_column(Text, default="plain")
    token: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str | None] = mapped_column(Text)


class ProbeParent(ProbeBase):
    __tablename__ = "probe_driver_parents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProbeChild(ProbeBase):
    __tablename__ = "probe_driver_children"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("probe_driver_parents.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


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
async def rows_table(db_session: AsyncSession) -> None:
    await db_session.run_sync(lambda sync: ProbeBase.metadata.create_all(sync.connection()))


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


async def test_a_session_begins_a_new_transaction_after_commit_and_rollback(
    database: Database, database_url: str
) -> None:
    """The driver connection is remembered per transaction, never across one."""
    kept, dropped, later = (f"{name}-{uuid.uuid4()}" for name in ("kept", "dropped", "later"))
    async with database.session_factory() as session:
        first = await TRANSACTION_TIME.fetchrow(session)
        await INSERT_NOTE.fetch(session, label=kept)
        await session.commit()
        await asyncio.sleep(0.01)
        second = await TRANSACTION_TIME.fetchrow(session)
        assert second[0] > first[0]  # now() moved: another transaction
        await INSERT_NOTE.fetch(session, label=dropped)
        await session.rollback()
        await INSERT_NOTE.fetch(session, label=later)
        await session.commit()
    assert await committed(database_url, kept)
    assert not await committed(database_url, dropped)
    assert await committed(database_url, later)


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
    with pytest.raises(ValueError, match="any_"):  # a list compiled once would be wrong
        DriverStatement(select(notes).where(notes.c.label.in_(["a", "b"])))


@pytest.mark.usefixtures("rows_table")
async def test_inserted_rows_get_their_defaults_and_generated_values(
    db_session: AsyncSession,
) -> None:
    pending = ProbeRow(label_text="added to the session first")
    db_session.add(pending)
    plain = ProbeRow(label_text="plain")
    tagged = ProbeRow(label_text="tagged", kind="special", tags={"colour": "red", "n": 2})

    await insert_rows(db_session, [plain, tagged])

    assert pending.number is not None  # flushed before the driver's inserts
    assert pending.number < plain.number < tagged.number
    assert (plain.kind, plain.tags, plain.note) == ("plain", {}, None)
    assert isinstance(plain.token, uuid.UUID)
    assert tagged.kind == "special"
    stored = (
        await db_session.execute(
            select(ProbeBase.metadata.tables["probe_driver_rows"]).order_by("number")
        )
    ).all()
    assert [(row.label, row.kind, row.tags, row.token) for row in stored] == [
        ("added to the session first", "plain", {}, pending.token),
        ("plain", "plain", {}, plain.token),
        ("tagged", "special", {"colour": "red", "n": 2}, tagged.token),
    ]
    assert [row.created_at for row in stored[1:]] == [plain.created_at, tagged.created_at]
    assert plain not in db_session  # written, not loaded


@pytest.mark.usefixtures("rows_table")
async def test_parents_children_and_one_numbered_row_go_in_together(
    db_session: AsyncSession,
) -> None:
    parent = ProbeParent(id=uuid.uuid4())
    children = [ProbeChild(parent_id=parent.id, details={"n": n}) for n in range(3)]
    numbered = ProbeRow(label_text="numbered")

    await insert_rows(db_session, [parent, *children, numbered])

    assert parent.created_at is not None  # read back
    assert numbered.number is not None
    assert all(isinstance(child.id, uuid.UUID) for child in children)  # defaults applied
    stored = (
        await db_session.execute(
            select(ProbeChild.__table__.c.details).where(ProbeChild.parent_id == parent.id)
        )
    ).all()
    assert sorted(row.details["n"] for row in stored) == [0, 1, 2]
    orphan = ProbeChild(parent_id=uuid.uuid4(), details={})
    savepoint = await db_session.begin_nested()
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # checked at the statement's end
        await insert_rows(db_session, [ProbeParent(id=uuid.uuid4()), orphan])
    await savepoint.rollback()


@pytest.mark.usefixtures("rows_table")
async def test_entity_queries_give_the_sessions_instances(db_session: AsyncSession) -> None:
    held = ProbeRow(label_text="held")
    db_session.add(held)
    await db_session.flush()
    await insert_rows(db_session, [ProbeRow(label_text="loaded", tags={"a": 1})])
    query = EntityQuery(
        (ProbeRow,),
        lambda columns: columns.where(ProbeRow.label_text.like("%l%")).order_by(ProbeRow.number),
    )

    [(first,), (second,)] = await query.fetch(db_session)

    assert first is held  # the instance the session holds, as the ORM would give
    assert second in db_session
    assert (second.label_text, second.tags, second.kind) == ("loaded", {"a": 1}, "plain")
    assert second.created_at is not None
    second.kind = "changed"  # a change to it is flushed like any loaded object's
    await db_session.flush()
    stored = await db_session.scalar(
        select(ProbeBase.metadata.tables["probe_driver_rows"].c.kind).where(
            ProbeBase.metadata.tables["probe_driver_rows"].c.label == "loaded"
        )
    )
    assert stored == "changed"


async def test_sqlalchemy_adapter_still_begins_without_a_statement(database: Database) -> None:
    """`begin_in_adapter` leans on a private method of SQLAlchemy's asyncpg adapter.
    When an upgrade removes or changes it, this fails and says which version did."""
    version = f"SQLAlchemy {sqlalchemy.__version__}"
    async with database.session_factory() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        adapter, driver = raw.dbapi_connection, raw.driver_connection
        assert driver is not None
        method = getattr(type(adapter), ADAPTER_BEGIN, None)
        assert method is not None, (
            f"{version}: {type(adapter).__name__}.{ADAPTER_BEGIN} is gone; find its "
            "replacement for core.driver.begin_in_adapter (until then each transaction "
            "of the driver path costs a round trip more)"
        )
        assert list(inspect.signature(method).parameters) == ["self"], (
            f"{version}: {ADAPTER_BEGIN} takes other arguments now; update begin_in_adapter"
        )
        assert not driver.is_in_transaction()
        assert await begin_in_adapter(adapter), (
            f"{version}: the adapter's transaction state (`_transaction`) changed"
        )
        assert driver.is_in_transaction(), (
            f"{version}: {ADAPTER_BEGIN} no longer begins the transaction on asyncpg"
        )
        # The adapter owns it: SQLAlchemy's rollback ends it.
        await session.rollback()
        assert not driver.is_in_transaction()


@pytest.mark.usefixtures("rows_table")
async def test_an_expired_instance_the_session_holds_is_filled_from_the_row(
    db_session: AsyncSession,
) -> None:
    # As the ORM's loading does: a rollback expired it, and a read through the driver
    # hands it back loaded (no lazy load later, which would fail outside the greenlet).
    held = ProbeRow(label_text="before")
    db_session.add(held)
    await db_session.flush()
    number = held.number
    savepoint = await db_session.begin_nested()
    held.label_text = "changed, then rolled back"
    await db_session.flush()
    await savepoint.rollback()
    assert "label_text" in sqlalchemy.inspect(held).unloaded
    query = EntityQuery((ProbeRow,), lambda columns: columns.where(ProbeRow.number == number))

    [(found,)] = await query.fetch(db_session)

    assert found is held
    assert not sqlalchemy.inspect(found).unloaded
    assert found.label_text == "before"


# Division by zero when the planner folds the constants of a plan made for the value 0;
# a generic plan (parameters unknown) skips the row and never divides.
_DIVIDE = "SELECT 1 / CAST({0} AS int) AS quotient WHERE CAST({0} AS int) <> 0"


async def test_a_statement_planned_each_run_never_gets_a_generic_plan(database: Database) -> None:
    """The same statement prepared as usual, run enough times for PostgreSQL to keep a
    generic plan; planned each run, it is planned for the value each time, in or out of
    a transaction, and no setting is touched."""
    prepared = DriverStatement(text(_DIVIDE.format(":divisor")))
    planned = DriverStatement(text(_DIVIDE.format(":divisor") + " "), plan_each_run=True)
    async with database.session_factory() as session:
        for _ in range(8):
            assert await prepared.fetchval(session, divisor=1) == 1
            assert await planned.fetchval(session, divisor=1) == 1
        # The prepared one went generic: the value 0 was never planned for.
        assert await prepared.fetchval(session, divisor=0) is None
        with pytest.raises(asyncpg.DivisionByZeroError):
            await planned.fetchval(session, divisor=0)
        await session.rollback()
        assert (await session.scalar(text("SELECT current_setting('plan_cache_mode')"))) == "auto"
        kept = await session.scalars(text("SELECT statement FROM pg_prepared_statements"))
        assert [sql for sql in kept if "AS quotient" in sql] == [prepared.sql], (
            "the one planned each run is kept as no named statement"
        )


async def test_asyncpg_still_lets_a_statement_be_planned_each_run(database: Database) -> None:
    """`plan_each_run` leans on asyncpg's internals (its statement cache, and unnamed
    statements marked unprepared). When an upgrade changes them, this fails and says
    which version did."""
    version = f"asyncpg {asyncpg.__version__}"
    async with database.session_factory() as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        for name in ASYNCPG_PLAN_EACH_RUN:
            assert hasattr(driver, name), f"{version}: Connection.{name} is gone"
        statement = DriverStatement(select(literal_column("41") + 1), plan_each_run=True)
        for _ in range(3):
            assert await statement.fetchval(session) == 42
        key = (statement.sql, driver._protocol.get_record_class(), False)
        held = driver._stmt_cache.get(key, promote=False)
        assert held is not None, f"{version}: the statement cache's keys changed"
        assert held.name == "", f"{version}: the statement is no longer the unnamed one"
        assert not held.prepared, f"{version}: the statement is no longer re-parsed each run"
        await session.rollback()
