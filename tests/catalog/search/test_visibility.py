"""Draft, archived, blocked and unverified suppliers' products are never public."""

from __future__ import annotations

import httpx

from tests.catalog.search.conftest import Catalog, search, walk


async def test_only_visible_products_are_listed(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = await walk(client, limit=2)
    assert sorted(catalog.names([item["id"] for item in items])) == sorted(catalog.products)


async def test_invisible_products_are_not_found_by_their_words(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    for words in ("draft", "archived", "blocked", "unverified", "pending", "cordless drill"):
        names = catalog.names([item["id"] for item in (await search(client, q=words))["items"]])
        assert not set(names) & set(catalog.hidden), words


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


async def test_verified_only_false_does_not_reveal_unverified_suppliers(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = await walk(client, verified_only="false")
    assert sorted(catalog.names([item["id"] for item in items])) == sorted(catalog.products)
