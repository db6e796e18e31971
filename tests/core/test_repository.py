"""The repository kit: keyset conditions and page assembly, written once."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid, select
from sqlalchemy.dialects import postgresql

from marketplace.core.pagination import decode_cursor, decode_time_keyset
from marketplace.core.repository import keyset, page_of, past

rows_table = Table(
    "probe_rows",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("created_at", DateTime(timezone=True)),
    Column("priority", Integer),
    Column("name", Text),
)
c = rows_table.c


def sql(clause: object) -> str:
    """The clause's PostgreSQL text, each parameter written `?`."""
    compiled = clause.compile(dialect=postgresql.dialect())  # type: ignore[attr-defined]
    text = " ".join(str(compiled).split())
    return re.sub(r"%\(\w+\)s(::TIMESTAMP WITH TIME ZONE|::\w+)?", "?", text)


def test_one_direction_is_a_row_comparison() -> None:
    at, row_id = datetime(2026, 1, 1, tzinfo=UTC), uuid.uuid4()
    assert sql(past((c.created_at, c.id), (at, row_id))) == (
        "(probe_rows.created_at, probe_rows.id) < (?, ?)"
    )
    assert ">" in sql(past((c.created_at, c.id), (at, row_id), descending=False))


def test_mixed_directions_compare_column_by_column() -> None:
    condition = past((c.priority, c.name), (5, "b"), descending=(True, False))
    assert sql(condition) == (
        "probe_rows.priority < ? OR probe_rows.priority = ? AND probe_rows.name > ?"
    )
    with pytest.raises(ValueError, match="one direction per column"):
        past((c.priority, c.name), (5, "b"), descending=(True,))


def test_keyset_orders_limits_and_starts_past_the_cursor() -> None:
    first = sql(keyset(select(rows_table.c.id), (c.created_at, c.id), None, 21))
    assert "WHERE" not in first
    assert first.endswith("ORDER BY probe_rows.created_at DESC, probe_rows.id DESC LIMIT ?")
    later = sql(
        keyset(
            select(rows_table.c.id),
            (c.priority, c.name),
            (5, "b"),
            21,
            descending=(True, False),
        )
    )
    assert "WHERE probe_rows.priority <" in later
    assert "ORDER BY probe_rows.priority DESC, probe_rows.name ASC" in later


@dataclass
class Row:
    id: uuid.UUID
    created_at: datetime
    name: str


def _rows(count: int) -> list[Row]:
    start = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)
    return [Row(uuid.uuid4(), start - timedelta(minutes=n), f"r{n}") for n in range(count)]


def test_page_of_drops_the_probe_row_and_points_past_the_last_shown() -> None:
    rows = _rows(4)  # limit 3, fetched 3 + 1
    page = page_of(rows, 3, lambda row: row.name)
    assert page.items == ["r0", "r1", "r2"]
    assert page.next_cursor is not None
    assert decode_time_keyset(page.next_cursor) == (rows[2].created_at, rows[2].id)


def test_page_of_the_last_page_has_no_cursor() -> None:
    assert page_of(_rows(3), 3, lambda row: row.name).next_cursor is None
    assert page_of([], 3, lambda row: row).model_dump() == {"items": [], "next_cursor": None}


def test_page_of_takes_items_built_for_the_shown_rows_and_any_key() -> None:
    rows = _rows(3)
    # Items built at once (a batch read), one left out: the cursor still moves past it.
    page = page_of(rows, 2, ["r0"], key=lambda row: (row.name,))
    assert page.items == ["r0"]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, 1) == ["r1"]
