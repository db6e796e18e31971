"""The repository kit: what every repository does the same way, written once.

- **Writing rows**: `add`, `add_all` put new rows in the session and flush, so that the
  database's answer (a unique violation, a foreign key) comes from the repository call
  that wrote them; `flush` writes the changes made to rows already there; `remove`
  deletes one row; `unique_or` turns a unique violation into the domain's error.
  Services never
  call `session.add` or `session.flush` themselves; they call their repository, which
  offers these as its own (or, on a hot path, uses `core.driver.insert_rows`).
- **Keyset pagination**: a list is ordered by a key ending in the row id, and the next
  page starts strictly past the last row served. `keyset(statement, key, cursor,
  limit)` adds the condition (`(created_at, id) < (:at, :id)`, a row comparison that
  PostgreSQL answers from the `(created_at, id)` index), the order and the limit;
  `past(key, cursor)` is the condition alone, for a statement that needs it elsewhere.
- **Page assembly**: a repository fetches `limit + 1` rows; the extra one only says a
  next page exists. `page_of(rows, limit, items)` turns them into the `Page` the API
  returns, with the cursor of the last row shown.

`tests/architecture/test_repository_kit.py` fails when a repository writes the keyset
condition by hand, when a `Page` is built by hand, or when a service adds rows to the
session itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from marketplace.core.errors import violated_unique_constraint
from marketplace.core.pagination import Page, encode_cursor

R = TypeVar("R")
T = TypeVar("T")
Row = TypeVar("Row")
# Any select: of one entity, or of several columns (`Select[Review, str]`).
S = TypeVar("S", bound=Select[*tuple[Any, ...]])

# The columns of a sort key, most significant first, ending in the row id.
Key = Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]]


# --- writing rows ---------------------------------------------------------------------


async def add(session: AsyncSession, row: Row, *, refresh: bool = False) -> Row:
    """Insert one new row. `refresh`: read back what the database filled in (server
    defaults such as `created_at`) before the row is returned."""
    session.add(row)
    await session.flush()
    if refresh:
        await session.refresh(row)
    return row


async def add_all(session: AsyncSession, rows: Sequence[object]) -> None:
    """Insert new rows; the unit of work orders parents before children."""
    session.add_all(rows)
    await session.flush()


async def remove(session: AsyncSession, row: object) -> None:
    """Delete one row now (the database's cascades delete what hangs off it)."""
    await session.delete(row)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    """Write the changes made to the session's rows now (a constraint answers here, and
    what follows in the transaction sees them), not at the next query or the commit."""
    await session.flush()


@asynccontextmanager
async def unique_or(
    session: AsyncSession, constraints: tuple[str, ...], error: Exception
) -> AsyncIterator[None]:
    """The block's writes in a savepoint: a violation of one of the unique
    `constraints` (a name or slug taken already) is raised as `error`, and the request's
    transaction goes on; any other failure is raised as it was."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as failure:
        if violated_unique_constraint(failure) in constraints:
            raise error from failure
        raise


# --- keyset pagination ----------------------------------------------------------------


# Newest first (True), oldest first (False), or per column of the key when the
# directions differ (price lists: highest priority first, then by name).
Descending = bool | Sequence[bool]


def _directions(key: Key, descending: Descending) -> list[bool]:
    if isinstance(descending, bool):
        return [descending] * len(key)
    if len(descending) != len(key):
        raise ValueError("one direction per column of the key")
    return list(descending)


def _beyond(column: Any, value: Any, descending: bool) -> ColumnElement[bool]:
    return column < value if descending else column > value  # type: ignore[no-any-return]


def past(key: Key, cursor: Sequence[Any], *, descending: Descending = True) -> ColumnElement[bool]:
    """The rows after `cursor` (the key of the last row served) in the key's order."""
    directions = _directions(key, descending)
    if len(set(directions)) == 1:
        # One direction: a row comparison, which an index on the key answers.
        return _beyond(tuple_(*key), tuple_(*cursor), directions[0])
    # Mixed: (a beyond x) or (a = x and (b beyond y) ...), column by column.
    condition = _beyond(key[-1], cursor[-1], directions[-1])
    for column, value, down in zip(key[-2::-1], cursor[-2::-1], directions[-2::-1], strict=True):
        condition = or_(_beyond(column, value, down), and_(column == value, condition))
    return condition


def keyset(
    statement: S,
    key: Key,
    cursor: Sequence[Any] | None,
    limit: int,
    *,
    descending: Descending = True,
) -> S:
    """`statement` ordered by `key`, from past `cursor` (None: the first page), at most
    `limit` rows (a page's `limit + 1`: see `page_of`)."""
    if cursor is not None:
        statement = statement.where(past(key, cursor, descending=descending))
    order = [
        column.desc() if down else column.asc()
        for column, down in zip(key, _directions(key, descending), strict=True)
    ]
    return statement.order_by(*order).limit(limit)


# --- page assembly --------------------------------------------------------------------

# The key of most lists (`pagination.TimeKeyset`): the row's creation time and its id.
by_created: Callable[[Any], tuple[Any, ...]] = attrgetter("created_at", "id")


def _cursor_value(value: Any) -> Any:
    # As the cursors were always written: decode_time_keyset reads them back.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def page_of(
    rows: Sequence[R],
    limit: int,
    items: Callable[[R], T] | Sequence[T],
    key: Callable[[R], Sequence[Any]] = by_created,
) -> Page[T]:
    """The page of `rows`, fetched with `limit + 1` (the extra row only says that a next
    page exists; it is not shown). `items`: how a row is shown (`Read.model_validate`),
    or what is shown of `rows[:limit]` when that is built for all of them at once (a
    batch read, or rows the reader may not see left out: the cursor still moves past
    them). `key`: the row's sort key, which the next page's cursor carries."""
    shown = rows[:limit]
    read = list(items) if isinstance(items, Sequence) else [items(row) for row in shown]
    next_cursor = None
    if len(rows) > limit and shown:
        next_cursor = encode_cursor(*(_cursor_value(value) for value in key(shown[-1])))
    return Page[T](items=read, next_cursor=next_cursor)
