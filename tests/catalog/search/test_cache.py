"""First pages and facets of public searches are cached, and retired by writers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.search.service import invalidate_search_cache
from marketplace.core.deps import get_read_session, get_session
from tests.catalog.search.conftest import Catalog, search
from tests.conftest import client_for, make_settings, started_app
from tests.factories import add_member, bearer_headers, make_product, make_user, platform_of


@pytest.fixture
async def cached_app(app: FastAPI, database_url: str) -> AsyncIterator[FastAPI]:
    """The application with the result cache on, sharing the test's transaction."""
    settings = make_settings(
        database_url=database_url,
        catalog_search_cache_ttl_seconds=60,
        rate_limit_anonymous="100000/minute",
    )
    async for application in started_app(settings):
        application.dependency_overrides[get_session] = app.dependency_overrides[get_session]
        application.dependency_overrides[get_read_session] = app.dependency_overrides[
            get_read_session
        ]
        yield application


@pytest.fixture
async def cached_client(cached_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(cached_app) as client:
        yield client


async def test_first_pages_are_served_from_the_cache_until_retired(
    cached_app: FastAPI,
    cached_client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
) -> None:
    before = await search(cached_client, q="helmet")
    assert len(before["items"]) == 1
    await make_product(
        db_session, supplier=catalog.suppliers["de"], name="Safety helmet with visor"
    )
    # the same words in other spellings share the cached entry
    assert await search(cached_client, q="helmet") == before
    assert await search(cached_client, q="  HELMET ") == before
    await invalidate_search_cache(platform_of(cached_app).cache)
    after = await search(cached_client, q="helmet")
    assert len(after["items"]) == 2


async def test_cached_and_fresh_pages_are_identical(
    cached_client: httpx.AsyncClient, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    for params in ({}, {"q": "hex"}, {"category": "test-tools", "sort": "price_asc"}):
        fresh = await search(client, **params)
        assert await search(cached_client, **params) == fresh  # fills the cache
        assert await search(cached_client, **params) == fresh  # read from it


async def test_later_pages_are_cached_until_retired(
    cached_app: FastAPI,
    cached_client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
) -> None:
    cursor = (await search(cached_client, limit=2))["next_cursor"]
    second = await search(cached_client, limit=2, cursor=cursor)
    await db_session.execute(
        text("UPDATE products SET status = 'archived' WHERE id = :id"),
        {"id": second["items"][0]["id"]},
    )
    # A change behind the service's back: the cached page stands until invalidated.
    assert await search(cached_client, limit=2, cursor=cursor) == second
    await invalidate_search_cache(platform_of(cached_app).cache)
    again = await search(cached_client, limit=2, cursor=cursor)
    assert again["items"][0]["id"] != second["items"][0]["id"]


async def test_facets_are_cached_until_retired(
    cached_app: FastAPI,
    cached_client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
) -> None:
    before = (await cached_client.get("/api/v1/products/facets")).json()
    await make_product(db_session, supplier=catalog.suppliers["fr"], name="Work gloves")
    assert (await cached_client.get("/api/v1/products/facets")).json() == before
    await invalidate_search_cache(platform_of(cached_app).cache)
    after = (await cached_client.get("/api/v1/products/facets")).json()
    assert after["total"] == before["total"] + 1


async def test_a_product_write_through_the_api_retires_cached_searches(
    cached_app: FastAPI,
    cached_client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
) -> None:
    owner = await make_user(db_session)
    await add_member(db_session, catalog.suppliers["de"], owner, "owner")
    headers = await bearer_headers(cached_app, db_session, owner)
    assert len((await search(cached_client, q="helmet"))["items"]) == 1
    response = await cached_client.patch(
        f"/api/v1/products/{catalog.products['helmet']}",
        json={"name": "Climbing hard hat"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert (await search(cached_client, q="helmet"))["items"] == []
    found = (await search(cached_client, q="climbing"))["items"]
    assert [item["name"] for item in found] == ["Climbing hard hat"]
