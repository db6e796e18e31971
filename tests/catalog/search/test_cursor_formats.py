"""A search cursor issued before search moved onto the repository kit still serves the
next page: each sort issues exactly the cursor it wrote by hand before, the sort's name,
the last item's sort value as the driver returned it and its id."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from marketplace.core.pagination import decode_cursor, encode_cursor
from tests.catalog.search.conftest import Catalog, search, walk


def _as_written_before(sort: str, value: Any, item: dict[str, Any]) -> str:
    """`encode_cursor(sort.value, sort_key, product_id)` of the code before the kit, with
    the value in the type the database returned it (the JSON encoder wrote each)."""
    product_id = uuid.UUID(item["id"])
    if sort == "newest":
        return encode_cursor(sort, datetime.fromisoformat(item["created_at"]), product_id)
    if sort == "relevance":
        return encode_cursor(sort, float(value), product_id)
    assert Decimal(value) == Decimal(item["base_price"])
    return encode_cursor(sort, Decimal(value), product_id)


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "relevance"])
async def test_search_cursors_keep_their_format(
    client: httpx.AsyncClient, catalog: Catalog, sort: str
) -> None:
    words = {"q": "hex"} if sort == "relevance" else {}
    everything = await walk(client, sort=sort, **words)
    assert len(everything) >= 3
    first = await search(client, sort=sort, limit=2, **words)
    last = first["items"][-1]
    name, value, product_id = decode_cursor(first["next_cursor"], 3)
    assert (name, product_id) == (sort, last["id"])
    old = _as_written_before(sort, value, last)
    assert first["next_cursor"] == old
    second = await search(client, sort=sort, limit=2, cursor=old, **words)
    assert second["items"] == everything[2:4]
