"""Cursors issued before the catalog's lists moved onto the repository kit still serve
the next page: each list issues exactly the cursor it wrote by hand before (a client
holding one keeps paging), and such a cursor, built here the old way, is accepted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from marketplace.core.pagination import encode_cursor
from tests.catalog.conftest import Catalog, create_product


async def _page(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_own_products_cursor_is_the_created_at_and_id_of_the_last(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    for _ in range(3):
        await create_product(client, owner)
    first = await _page(client, "/api/v1/products/mine", owner, limit=2)
    last = first["items"][-1]
    # As written by hand before: encode_cursor(created_at.isoformat(), str(id)).
    old = encode_cursor(datetime.fromisoformat(last["created_at"]).isoformat(), last["id"])
    assert first["next_cursor"] == old
    second = await _page(client, "/api/v1/products/mine", owner, limit=2, cursor=old)
    assert len(second["items"]) == 1
    assert second["items"][0]["id"] not in {item["id"] for item in first["items"]}
    assert second["next_cursor"] is None


async def test_buyer_groups_cursor_is_the_last_name(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    for name in ("Alpha", "Beta", "Gamma"):
        response = await client.post("/api/v1/buyer-groups", json={"name": name}, headers=owner)
        assert response.status_code == 201, response.text
    first = await _page(client, "/api/v1/buyer-groups", owner, limit=2)
    assert first["next_cursor"] == encode_cursor("Beta")
    second = await _page(client, "/api/v1/buyer-groups", owner, cursor=encode_cursor("Alpha"))
    assert [group["name"] for group in second["items"]] == ["Beta", "Gamma"]
    assert second["next_cursor"] is None


async def test_price_lists_cursor_is_the_last_priority_and_name(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    for name, priority in (("Gold", 10), ("Silver", 5), ("Bronze", 5), ("Tin", 0)):
        response = await client.post(
            "/api/v1/price-lists", json={"name": name, "priority": priority}, headers=owner
        )
        assert response.status_code == 201, response.text
    first = await _page(client, "/api/v1/price-lists", owner, limit=2)
    assert [found["name"] for found in first["items"]] == ["Gold", "Bronze"]
    assert first["next_cursor"] == encode_cursor(5, "Bronze")
    second = await _page(client, "/api/v1/price-lists", owner, cursor=encode_cursor(5, "Bronze"))
    assert [found["name"] for found in second["items"]] == ["Silver", "Tin"]
