"""Sorting, and keyset pages that never repeat or skip an item, even while products are
being added between two pages."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from tests.catalog.search.conftest import START, Catalog, search, walk
from tests.factories import make_company, make_product

SORTS = ["newest", "price_asc", "price_desc", "relevance"]


async def test_newest_is_the_default_without_words(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = await walk(client)
    assert catalog.names([item["id"] for item in items]) == [
        "helmet",
        "gloves",
        "impact_driver",
        "drill",
        "hex_key",
        "hex_bolt_long",
        "hex_bolt",
    ]
    assert items == await walk(client, sort="newest")
    # relevance without words has nothing to rank by: newest
    assert items == await walk(client, sort="relevance")


async def test_price_sorts(client: httpx.AsyncClient, catalog: Catalog) -> None:
    ascending = await walk(client, sort="price_asc", limit=3)
    prices = [Decimal(item["base_price"]) for item in ascending]
    assert prices == sorted(prices)
    assert len(ascending) == len(catalog.products)
    descending = await walk(client, sort="price_desc", limit=3)
    assert [Decimal(item["base_price"]) for item in descending] == sorted(prices, reverse=True)


async def test_price_sort_at_a_quantity(client: httpx.AsyncClient, catalog: Catalog) -> None:
    items = await walk(client, sort="price_asc", quantity="10", limit=2)
    prices = [Decimal(item["unit_price"]) for item in items]
    assert prices == sorted(prices)
    drill = next(item for item in items if item["sku"] == "DR-18")
    assert drill["unit_price"] == "79.00"


async def test_relevance_sort_orders_by_rank(client: httpx.AsyncClient, catalog: Catalog) -> None:
    one_page = [item["id"] for item in (await search(client, q="hex", limit=100))["items"]]
    paged = [item["id"] for item in await walk(client, q="hex", limit=1)]
    assert paged == one_page
    assert len(paged) == 3


@pytest.fixture
async def many(db_session: AsyncSession) -> tuple[Company, list[str]]:
    """45 products with many equal prices and creation times (ties broken by id)."""
    supplier = await make_company(
        db_session, kind="supplier", country="PL", verification_status="verified"
    )
    ids = []
    for number in range(45):
        product = await make_product(
            db_session,
            supplier=supplier,
            name=f"Pallet wrap roll {number}",
            tiers=((1, f"{1 + number % 4}.50"),),
            created_at=START + timedelta(days=number % 5),
        )
        ids.append(str(product.id))
    return supplier, ids


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_never_repeat_or_skip(
    client: httpx.AsyncClient, many: tuple[Company, list[str]], sort: str
) -> None:
    _supplier, ids = many
    items = await walk(client, q="pallet wrap", sort=sort, limit=7)
    assert sorted(item["id"] for item in items) == sorted(ids)


@pytest.mark.parametrize("sort", SORTS)
async def test_inserts_between_pages_do_not_disturb_the_walk(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    many: tuple[Company, list[str]],
    sort: str,
) -> None:
    """New products (newer, at every price, matching the words) land between page fetches;
    every product that existed at the start is still served exactly once."""
    supplier, ids = many
    randomness = random.Random(sort)
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        params = {"q": "pallet wrap", "sort": sort, "limit": 6}
        body = await search(client, **params, **({"cursor": cursor} if cursor else {}))
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        for _ in range(3):
            added += 1
            await make_product(
                db_session,
                supplier=supplier,
                name=f"Pallet wrap roll new {added}",
                tiers=((1, f"{randomness.choice([1, 2, 3, 4])}.50"),),
                created_at=START + timedelta(days=10, minutes=added),
            )
    assert len(seen) == len(set(seen)), "an item was served twice"
    assert set(ids) <= set(seen), "an item that existed before the walk was skipped"


async def test_cursor_of_another_sort_is_rejected(
    client: httpx.AsyncClient, many: tuple[Company, list[str]]
) -> None:
    cursor = (await search(client, sort="newest", limit=5))["next_cursor"]
    response = await client.get("/api/v1/products", params={"sort": "price_asc", "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-cursor")


async def test_last_page_has_no_cursor(client: httpx.AsyncClient, catalog: Catalog) -> None:
    body = await search(client, limit=len(catalog.products))
    assert len(body["items"]) == len(catalog.products)
    assert body["next_cursor"] is None
