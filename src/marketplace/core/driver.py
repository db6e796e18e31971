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
does not see these statements, except through `EntityQuery`, which hands rows back
as the session's instances: rows `insert_rows` writes are not in the session, so it
suits new rows the request does not change again through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import (
    JSON,
    Column,
    Select,
    Table,
    bindparam,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.sql.selectable import CTE

from marketplace.core.db import transaction_memo

# The engine's dialect: `$n` parameters and the casts it adds to them.
_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class DriverStatement:
    """A statement compiled once; its bind parameters are filled by name per call.

    `plan_each_run`: planned for its parameters every time it runs (`plan_each_run`
    below), never on a generic plan."""

    def __init__(self, statement: ClauseElement, *, plan_each_run: bool = False) -> None:
        self.plan_each_run = plan_each_run
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        if compiled.positiontup is None:
            raise ValueError("the dialect did not number the parameters")
        if compiled.post_compile_params:
            # `IN (:list)` is rewritten per call; compiled once it cannot be.
            raise ValueError("use `column == any_(array parameter)` instead of `in_()`")
        self.sql = str(compiled)
        self._names = tuple(compiled.positiontup)
        # Values written into the statement (`status == "active"`) are parameters too.
        self._bound = {name: compiled.params[name] for name in self._names}
        # The codecs SQLAlchemy installs take JSON as text, as its own serializer writes it.
        self._json = frozenset(
            name for name in self._names if isinstance(compiled.binds[name].type, JSON)
        )

    def _arguments(self, values: Mapping[str, Any]) -> list[Any]:
        unknown = values.keys() - self._bound.keys()
        if unknown:
            raise TypeError(f"unknown parameters: {sorted(unknown)}")
        arguments = [values[name] if name in values else self._bound[name] for name in self._names]
        if self._json:
            for position, name in enumerate(self._names):
                if name in self._json and arguments[position] is not None:
                    arguments[position] = orjson.dumps(
                        arguments[position], option=orjson.OPT_NON_STR_KEYS
                    ).decode()
        return arguments

    async def _connection(self, session: AsyncSession) -> asyncpg.Connection:
        connection = await driver_connection(session)
        if self.plan_each_run:
            await plan_each_run(connection, self.sql)
        return connection

    async def fetch(self, session: AsyncSession, **values: Any) -> list[asyncpg.Record]:
        connection = await self._connection(session)
        return list(await connection.fetch(self.sql, *self._arguments(values)))

    async def fetchrow(self, session: AsyncSession, **values: Any) -> asyncpg.Record | None:
        connection = await self._connection(session)
        return await connection.fetchrow(self.sql, *self._arguments(values))

    async def fetchval(self, session: AsyncSession, **values: Any) -> Any:
        connection = await self._connection(session)
        return await connection.fetchval(self.sql, *self._arguments(values))

    async def execute(self, session: AsyncSession, **values: Any) -> None:
        connection = await self._connection(session)
        await connection.execute(self.sql, *self._arguments(values))

    async def executemany(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Once per row, pipelined: one round trip for all of them."""
        if rows:
            connection = await self._connection(session)
            await connection.executemany(self.sql, [self._arguments(row) for row in rows])


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, that transaction begun (of a
    read-only session outside a transaction: the connection, nothing begun).

    Remembered for the rest of that transaction: finding it through the session costs
    about as much CPU as running a statement on it."""
    memo = transaction_memo(session)
    driver: asyncpg.Connection | None = memo.get("driver") if memo is not None else None
    if driver is not None and (_outside(memo) or driver.is_in_transaction()):
        return driver
    driver, outside = await _begun_driver_connection(session)
    memo = transaction_memo(session)
    assert memo is not None  # begun just now
    memo["driver"] = driver
    memo["outside_transaction"] = outside
    return driver


def _outside(memo: dict[str, Any] | None) -> bool:
    return bool(memo and memo.get("outside_transaction"))


async def _begun_driver_connection(session: AsyncSession) -> tuple[asyncpg.Connection, bool]:
    """The driver connection, and whether its statements run outside a transaction (a
    read-only session, `Database.read_outside_transaction`: nothing to begin)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if getattr(raw.dbapi_connection, "autocommit", False):
        return driver, True
    if not driver.is_in_transaction():
        # SQLAlchemy sends BEGIN with its first statement, through its adapter, which
        # must own the transaction to commit or roll it back. Have the adapter begin
        # now; where it cannot, any statement begins it, at the cost of a round trip.
        if not await begin_in_adapter(raw.dbapi_connection):
            await connection.execute(text("SELECT 1"))
        if not driver.is_in_transaction():
            raise RuntimeError("the session's transaction did not begin")
    return driver, False


# SQLAlchemy's asyncpg adapter (`AsyncAdapt_asyncpg_connection`, SQLAlchemy 2.0) has no
# public way to begin its transaction without sending a statement: it begins lazily, in
# the private `_start_transaction`, before its first one. This is the one place that
# calls it. tests/core/test_driver.py fails, naming the installed SQLAlchemy, when the
# method is gone or no longer begins the transaction; the code keeps working then (the
# fallback above), one round trip slower per transaction.
ADAPTER_BEGIN = "_start_transaction"


async def begin_in_adapter(adapter: Any) -> bool:
    """Begin the transaction of SQLAlchemy's asyncpg adapter now, as its first statement
    would. False when the adapter cannot (this SQLAlchemy does not have the method) or
    has begun already."""
    begin = getattr(adapter, ADAPTER_BEGIN, None)
    if begin is None or getattr(adapter, "_transaction", "") is not None:
        return False
    await begin()
    return True


# asyncpg prepares each statement once per connection (named, in its statement cache)
# and runs it again by name; after five runs PostgreSQL may switch such a statement to
# a generic plan, blind to the parameters, when it estimates that one as cheap. For
# search that plan was ten times slower (uncached facets 98 -> 9.6 ms, category + price
# 23.6 -> 6.5 ms, bench/README.md), so searches used to set `plan_cache_mode` for their
# transaction first: BEGIN, set_config and COMMIT, three of a text search's five round
# trips. A statement parsed afresh as the unnamed one is planned for its parameters on
# every run (PostgreSQL only weighs a generic plan from a statement's sixth run), and
# asyncpg sends such a statement's Parse with its Bind and Execute: one round trip, in a
# transaction or not, without touching any setting. asyncpg has no public way to ask
# for that per statement (only `statement_cache_size=0`, for every statement, and then
# with a round trip of its own to describe each one): this puts the unnamed statement,
# described once per connection and marked unprepared, where asyncpg's statement cache
# keeps the named one, so that `fetch` & co. find it there and re-parse it each run.
# tests/core/test_driver.py fails, naming the installed asyncpg, when these internals
# change (`ASYNCPG_PLAN_EACH_RUN`).
ASYNCPG_PLAN_EACH_RUN = ("_stmt_cache", "_get_statement", "_protocol")


async def plan_each_run(connection: asyncpg.Connection, sql: str) -> None:
    """Have `connection` parse and plan `sql` afresh on each of its runs from now on
    (until its statement cache drops the entry: checked on each call, cheaply)."""
    raw: Any = connection
    if not raw._stmt_cache.get_max_size():
        return  # no statement cache: asyncpg parses every statement afresh already
    key = (sql, raw._protocol.get_record_class(), False)
    held = raw._stmt_cache.get(key, promote=False)
    if held is not None and not held.name and not held.prepared:
        return
    state = await raw._get_statement(sql, None, named=False, use_cache=False)
    state.mark_unprepared()
    raw._stmt_cache.put(key, state)


@dataclass(frozen=True, eq=False)  # one per (class, unset columns): compared by identity
class _Shape:
    """How one mapped class's rows are inserted: which columns are sent, which come back."""

    table: Table
    sent: tuple[tuple[Column[Any], str], ...]  # (column, attribute)
    returned: tuple[tuple[Column[Any], str], ...]
    statement: DriverStatement
    numbered: bool  # the database numbers it (identity): the order of inserts shows


async def insert_rows(session: AsyncSession, rows: Sequence[Any]) -> None:
    """INSERT mapped objects' rows through the driver, in the order given (parents
    first), instead of adding them to the session: the unit of work costs more than
    the inserts on hot paths. Python-side column defaults are applied to the objects;
    identity columns, and columns left None that have a server default, are filled by
    the database and read back onto them. The objects stay out of the session
    (transient). Pending ORM changes are flushed first, so that statements reach the
    database in the order the code wrote them.

    Several rows go in one statement, one `INSERT` per row in a `WITH`, so one round
    trip (foreign keys are checked at its end, so parents and children may come
    together). Except when more than one row is numbered by the database: the order of
    a statement's inserts is not defined, and numbers must follow the order given."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    prepared = []
    for row in rows:
        values = _column_values(row)
        shape = _shape(type(row), frozenset(key for key, value in values.items() if value is None))
        prepared.append((row, values, shape))
    if len(prepared) > 1 and sum(shape.numbered for _, _, shape in prepared) <= 1:
        await _insert_together(session, prepared)
        return
    for row, values, shape in prepared:
        sent = {column.key: values[attribute] for column, attribute in shape.sent}
        if not shape.returned:
            await shape.statement.execute(session, **sent)
            continue
        generated = await shape.statement.fetchrow(session, **sent)
        assert generated is not None  # INSERT ... RETURNING gives its row
        for column, attribute in shape.returned:
            setattr(row, attribute, generated[column.key])


async def _insert_together(
    session: AsyncSession, prepared: Sequence[tuple[Any, dict[str, Any], _Shape]]
) -> None:
    shapes = tuple(shape for _, _, shape in prepared)
    statement = _TOGETHER.get(shapes)
    if statement is None:
        if len(_TOGETHER) >= _TOGETHER_LIMIT:
            _TOGETHER.clear()
        statement = _TOGETHER[shapes] = _together(shapes)
    arguments = {
        f"r{index}_{column.key}": values[attribute]
        for index, (_, values, shape) in enumerate(prepared)
        for column, attribute in shape.sent
    }
    if not any(shape.returned for shape in shapes):
        await statement.execute(session, **arguments)
        return
    generated = await statement.fetchrow(session, **arguments)
    assert generated is not None  # one row: a row from each single-row INSERT
    for index, (row, _, shape) in enumerate(prepared):
        for column, attribute in shape.returned:
            setattr(row, attribute, generated[f"r{index}_{column.key}"])


# Statements inserting a sequence of shapes together (an order and its lines, say).
_TOGETHER: dict[tuple[_Shape, ...], DriverStatement] = {}
_TOGETHER_LIMIT = 256


def _together(shapes: tuple[_Shape, ...]) -> DriverStatement:
    inserts: list[CTE] = []
    selected: list[ColumnElement[Any]] = []
    for index, shape in enumerate(shapes):
        inserted = _insert(shape.table, shape.sent, shape.returned, f"r{index}_").cte(f"r{index}")
        inserts.append(inserted)
        selected.extend(
            inserted.c[column.key].label(f"r{index}_{column.key}") for column, _ in shape.returned
        )
    query = select(*selected) if selected else select(literal(1))
    return DriverStatement(query.add_cte(*inserts))


def _column_values(row: Any) -> dict[str, Any]:
    """Each column's value on the object, Python-side defaults applied (and kept)."""
    values: dict[str, Any] = {}
    for column, attribute in _columns_of(type(row)):
        value = getattr(row, attribute)
        default = column.default
        if value is None and isinstance(
            default, ScalarElementColumnDefault | CallableColumnDefault
        ):
            # SQLAlchemy wraps argument-less default functions to take a context.
            value = (
                default.arg
                if isinstance(default, ScalarElementColumnDefault)
                else default.arg(cast(Any, None))
            )
            setattr(row, attribute, value)
        values[attribute] = value
    return values


_COLUMNS: dict[type[Any], tuple[tuple[Column[Any], str], ...]] = {}
_SHAPES: dict[tuple[type[Any], frozenset[str]], _Shape] = {}


def _columns_of(mapped: type[Any]) -> tuple[tuple[Column[Any], str], ...]:
    columns = _COLUMNS.get(mapped)
    if columns is None:
        mapper = inspect(mapped)
        columns = _COLUMNS[mapped] = tuple(
            (column, mapper.get_property_by_column(column).key)
            for column in mapper.local_table.columns
        )
    return columns


def _shape(mapped: type[Any], unset: frozenset[str]) -> _Shape:
    shape = _SHAPES.get((mapped, unset))
    if shape is None:
        shape = _SHAPES[(mapped, unset)] = _new_shape(mapped, unset)
    return shape


def _new_shape(mapped: type[Any], unset: frozenset[str]) -> _Shape:
    sent: list[tuple[Column[Any], str]] = []
    returned: list[tuple[Column[Any], str]] = []
    for column, attribute in _columns_of(mapped):
        # Identity columns are numbered by the database, never sent.
        if column.identity is not None or (
            attribute in unset and column.server_default is not None
        ):
            returned.append((column, attribute))
        else:
            sent.append((column, attribute))
    table = inspect(mapped).local_table
    statement = DriverStatement(_insert(table, sent, returned))
    numbered = any(column.identity is not None for column, _ in returned)
    return _Shape(table, tuple(sent), tuple(returned), statement, numbered)


def _insert(
    table: Table,
    sent: Sequence[tuple[Column[Any], str]],
    returned: Sequence[tuple[Column[Any], str]],
    prefix: str = "",
) -> Any:
    """INSERT one row of `sent` columns (parameters named prefix + column key),
    RETURNING the `returned` ones."""
    statement = insert(table).values(
        {column.key: bindparam(prefix + column.key, type_=column.type) for column, _ in sent}
    )
    if returned:
        return statement.returning(*(column for column, _ in returned))
    return statement


class EntityQuery:
    """Whole rows of mapped classes, selected through the driver and handed back as
    the session's persistent instances, as `session.execute(select(A, B))` would:
    an instance the session already holds is returned as it is, a new one is added
    to the session clean, so that later changes to it are flushed as usual.

    `extra`: further labelled columns, each row's values following its instances. An
    entity of an outer join whose primary key reads NULL (no row joined) is None."""

    def __init__(
        self,
        entities: Sequence[type[Any]],
        build: Callable[[Select[Any]], Select[Any]],
        *,
        extra: Sequence[ColumnElement[Any]] = (),
    ) -> None:
        self._entities = tuple(entities)
        self._labels: list[list[tuple[str, str]]] = []  # per entity: (label, attribute)
        self._keys: list[list[str]] = []  # per entity: the labels of its primary key
        columns: list[ColumnElement[Any]] = []
        for index, entity in enumerate(self._entities):
            labels = []
            mapper = inspect(entity)
            primary = {mapper.get_property_by_column(column).key for column in mapper.primary_key}
            for column, attribute in _columns_of(entity):
                label = f"e{index}_{column.key}"
                columns.append(column.label(label))
                labels.append((label, attribute))
            self._labels.append(labels)
            self._keys.append([label for label, attribute in labels if attribute in primary])
        self._extra = tuple(f"x{index}" for index in range(len(extra)))
        columns.extend(
            column.label(label) for column, label in zip(extra, self._extra, strict=True)
        )
        self._statement = DriverStatement(build(select(*columns)))

    async def fetch(self, session: AsyncSession, **values: Any) -> list[tuple[Any, ...]]:
        rows = await self._statement.fetch(session, **values)
        return [
            tuple(
                None
                if all(row[label] is None for label in keys)
                else _persistent(
                    session, entity, {attribute: row[label] for label, attribute in labels}
                )
                for entity, labels, keys in zip(
                    self._entities, self._labels, self._keys, strict=True
                )
            )
            + tuple(row[label] for label in self._extra)
            for row in rows
        ]


def _persistent(session: AsyncSession, entity: type[Any], values: dict[str, Any]) -> Any:
    mapper = inspect(entity)
    key = mapper.identity_key_from_primary_key(
        [values[mapper.get_property_by_column(column).key] for column in mapper.primary_key]
    )
    held = session.identity_map.get(key)
    if held is not None:
        # Attributes expired (by a rollback, say) or never loaded are filled from the
        # row, as the ORM's loading fills them; the others keep the session's values.
        for attribute in inspect(held).unloaded & values.keys():
            set_committed_value(held, attribute, values[attribute])
        return held
    instance = mapper.class_manager.new_instance()
    for attribute, value in values.items():
        set_committed_value(instance, attribute, value)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
