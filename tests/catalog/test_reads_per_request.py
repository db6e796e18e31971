"""One read of each thing per request: a product's row once, its cache entry once, a
search's key and entry once, however the request is answered.

Statements are counted on the test's connection, which the requests share (SQLAlchemy's
and the driver's, tests/statements.py); cache reads by wrapping the application's real
cache."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.core.cache import Cache
from tests.catalog.conftest import Catalog, create_product
from tests.factories import platform_of
from tests.statements import statements_sent


class CountingCache:
    """The application's cache, recording every key it is asked for."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.mode = inner.mode
        self.keys_read: list[str] = []

    async def get(self, key: str) -> bytes | None:
        self.keys_read.append(key)
        return await self.inner.get(key)

    async def get_many(self, *keys: str) -> list[bytes | None]:
        self.keys_read.extend(keys)
        return await self.inner.get_many(*keys)

    def __getattr__(self, name: str) -> Any:  # set, delete, ping, close
        return getattr(self.inner, name)

    def reads(self, prefix: str) -> int:
        return sum(key.startswith(prefix) for key in self.keys_read)


def counting_cache(app: FastAPI) -> CountingCache:
    platform = platform_of(app)
    counting = CountingCache(platform.cache)
    platform.cache = counting
    return counting


def product_row_reads(sent: list[str]) -> int:
    """Reads of a product's row with its supplier and category (`product_row`)."""
    return sum(
        "FROM products JOIN companies" in statement and "JOIN categories" in statement
        for statement in sent
    )


async def test_a_signed_in_buyers_miss_reads_the_product_and_its_entry_once(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    cache = counting_cache(app)
    key = caching.product_key(uuid.UUID(product["id"]))

    async with statements_sent(db_session) as sent:
        response = await client.get(
            f"/api/v1/products/{product['id']}", headers=catalog.headers["buyer"]
        )

    assert response.status_code == 200, response.text
    assert response.json()["your_price"] is not None
    assert product_row_reads(sent.statements) == 1, sent.statements
    assert cache.reads(key) == 1
    assert await cache.get(key) is not None  # the miss filled the shared entry


async def test_an_anonymous_miss_reads_the_entry_and_the_product_once(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    cache = counting_cache(app)
    key = caching.product_key(uuid.UUID(product["id"]))
    url = f"/api/v1/products/{product['id']}"

    async with statements_sent(db_session) as sent:
        missed = await client.get(url)
    assert missed.status_code == 200, missed.text
    assert cache.reads(key) == 1  # before routing; the route knows it missed
    assert product_row_reads(sent.statements) == 1, sent.statements

    async with statements_sent(db_session) as sent:
        hit = await client.get(url)
    assert hit.content == missed.content
    assert cache.reads(key) == 2
    assert sent.statements == []


async def test_an_anonymous_search_miss_reads_its_key_and_entry_once(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    await create_product(client, catalog.headers["owner"], name="Countable flange nut")
    cache = counting_cache(app)
    cases = [
        ("/api/v1/products", "catalog:search:page:"),
        ("/api/v1/products/facets", "catalog:search:facets:"),
    ]
    for path, prefix in cases:
        before_generation = cache.reads(caching.SEARCH_GENERATION_KEY)
        missed = await client.get(path, params={"q": "flange"})
        assert missed.status_code == 200, missed.text
        # The generation (part of the key) and the entry, each once, before routing.
        assert cache.reads(caching.SEARCH_GENERATION_KEY) == before_generation + 1, path
        assert cache.reads(prefix) == 1, path

        hit = await client.get(path, params={"q": "flange"})
        assert hit.content == missed.content
        assert cache.reads(prefix) == 2, path


async def test_an_uncached_detail_reads_the_product_with_its_family_in_one_statement(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    head = await create_product(client, owner, name="Glove")
    small = await create_product(client, owner, name="Glove S", parent_id=head["id"])
    large = await create_product(client, owner, name="Glove L", parent_id=head["id"])

    async with statements_sent(db_session) as sent:
        response = await client.get(f"/api/v1/products/{small['id']}")

    assert response.status_code == 200, response.text
    # The product with its supplier, category, family, tiers and images: one statement.
    assert len(sent) == 1, sent.statements
    assert sent.count("FROM products") == 1
    assert [tier["min_qty"] for tier in response.json()["price_tiers"]] == [
        tier["min_qty"] for tier in small["price_tiers"]
    ]
    variants = response.json()["variants"]
    assert [variant["id"] for variant in variants] == [head["id"], large["id"]]
    assert variants[0]["is_family_head"] is True
