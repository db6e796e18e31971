"""Draft, archived, blocked and unverified suppliers' products are never public."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.search.conftest import Catalog, search, search_names, walk

SUPPLIER_VERIFIED = (
    "UPDATE companies SET verification_status = 'verified'"
    " WHERE id = (SELECT supplier_id FROM products WHERE id = :id)"
)


async def test_only_visible_products_are_listed(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = await walk(client, limit=2)
    assert sorted(catalog.names([item["id"] for item in items])) == sorted(catalog.products)


# What makes each hidden product visible: the same words must then find it, so that a
# search finding nothing at all cannot pass for one that hides the right products.
REVEAL = {
    "draft": "UPDATE products SET status = 'active' WHERE id = :id",
    "archived": "UPDATE products SET status = 'active' WHERE id = :id",
    "blocked": "UPDATE products SET is_blocked = false WHERE id = :id",
    "unverified": SUPPLIER_VERIFIED,
    "pending": SUPPLIER_VERIFIED,
}


@pytest.mark.parametrize("hidden", sorted(REVEAL))
async def test_invisible_products_are_not_found_by_their_words(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, hidden: str
) -> None:
    assert await search_names(client, catalog, q=hidden) == []
    assert await search_names(client, catalog, q="cordless drill") == ["drill"]

    await db_session.execute(text(REVEAL[hidden]), {"id": catalog.hidden[hidden]})
    assert await search_names(client, catalog, q=hidden) == [hidden]
    assert sorted(await search_names(client, catalog, q="cordless drill")) == sorted(
        ["drill", hidden]
    )


async def test_invisible_products_are_not_counted_in_facets(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    response = await client.get("/api/v1/products/facets", params={"category": "test-drills"})
    assert response.status_code == 200
    assert response.json()["total"] == 1  # the visible drill only


async def test_unverified_supplier_filter_finds_nothing(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    for hidden in ("unverified", "pending"):
        items = (await search(client, q=f"cordless drill {hidden}"))["items"]
        assert items == []
    # The same search does find what is visible.
    assert await search_names(client, catalog, q="cordless drill") == ["drill"]


async def test_verified_only_false_does_not_reveal_unverified_suppliers(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = await walk(client, verified_only="false")
    assert sorted(catalog.names([item["id"] for item in items])) == sorted(catalog.products)
