"""Anonymous reads answered from the shared cache before routing: the same answer as
the route's, only for requests without credentials, and never a stale one.

The request sessions are counted by wrapping the test's session dependency: a read
answered before routing opens none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.core.cache import RedisCache
from marketplace.core.deps import get_session
from marketplace.core.redis import create_redis
from tests.catalog.conftest import Catalog, create_product
from tests.catalog.test_cache import cache_of, settings, vip_price_list, warm
from tests.factories import platform_of

__all__ = ["settings"]  # Redis, as in production


@pytest.fixture
def sessions_opened(app: FastAPI) -> Callable[[], int]:
    """How many request sessions the router has opened so far."""
    # As a context manager, so that the request's errors reach it and roll it back.
    inner = asynccontextmanager(app.dependency_overrides[get_session])
    opened = 0

    async def counting_session() -> AsyncIterator[AsyncSession]:
        nonlocal opened
        opened += 1
        async with inner() as session:
            yield session

    app.dependency_overrides[get_session] = counting_session
    return lambda: opened


async def test_a_cached_product_is_answered_before_routing_with_the_routes_bytes(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    url = f"/api/v1/products/{product['id']}"
    routed = await client.get(url)  # a miss: the route reads the database and fills the cache
    assert routed.status_code == 200
    before = sessions_opened()

    served = await client.get(url)

    assert sessions_opened() == before  # not routed
    assert served.status_code == 200
    assert served.content == routed.content
    assert served.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert served.headers["content-length"] == str(len(routed.content))
    # The outer middlewares still apply: request id, security headers, rate limit.
    for header in ("x-request-id", "x-content-type-options", "ratelimit-limit"):
        assert header in served.headers, header
    # Uppercase hex is the same product for the route's `:uuid`, and the same entry.
    upper = await client.get(url.upper().replace("/API/V1/PRODUCTS/", "/api/v1/products/"))
    assert upper.content == routed.content
    assert sessions_opened() == before


async def test_requests_with_credentials_are_always_routed(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    url = f"/api/v1/products/{product['id']}"
    anonymous = await warm(client, app, product["id"])
    assert anonymous["your_price"] is None

    before = sessions_opened()
    buyer = await client.get(url, headers=catalog.headers["buyer"])
    assert buyer.status_code == 200
    assert buyer.json()["your_price"] is not None  # priced for the buyer, not the entry
    assert sessions_opened() == before + 1

    # A credential that is present must be valid, even for a cached public page.
    for headers in (
        {"Authorization": "Bearer not-a-token"},
        {"X-API-Key": "mpk_not_a_key"},
        {"Cookie": f"{app.state.settings.session_cookie_name}=forged"},
    ):
        refused = await client.get(url, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["content-type"] == "application/problem+json"


async def test_misses_and_other_paths_go_to_the_router(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    await warm(client, app, product["id"])
    before = sessions_opened()
    cases: list[tuple[str, str, int]] = [
        ("GET", f"/api/v1/products/{uuid.uuid4()}", 404),  # not cached, not there
        ("GET", f"/api/v1/products/{product['id']}/price?quantity=100", 200),
        ("HEAD", f"/api/v1/products/{product['id']}", 405),  # as the route answers
        ("GET", f"/api/v1/products/{product['id']}/", 307),  # the router's redirect
        ("GET", "/api/v1/products/not-a-uuid", 404),  # `:uuid` never matched it
    ]
    for method, path, status in cases:
        response = await client.request(method, path)
        assert response.status_code == status, (method, path, response.text)
    assert sessions_opened() > before


async def test_a_write_is_never_followed_by_a_stale_answer(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    url = f"/api/v1/products/{product['id']}"
    await warm(client, app, product["id"])

    renamed = await client.patch(url, json={"name": "Hex bolt M8x45"}, headers=owner)
    assert renamed.status_code == 200, renamed.text
    assert (await client.get(url)).json()["name"] == "Hex bolt M8x45"

    archived = await client.delete(url, headers=owner)
    assert archived.status_code == 204, archived.text
    assert (await client.get(url)).status_code == 404


async def test_a_failing_cache_falls_back_to_the_router(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    url = f"/api/v1/products/{product['id']}"
    expected = await warm(client, app, product["id"])
    platform = platform_of(app)
    working = platform.cache
    platform.cache = RedisCache(create_redis("redis://127.0.0.1:1/0"))  # nothing listens
    try:
        before = sessions_opened()
        response = await client.get(url)
        assert response.status_code == 200
        assert response.json() == expected
        assert sessions_opened() == before + 1
    finally:
        await platform.cache.close()
        platform.cache = working


async def test_the_category_tree_is_answered_before_routing(
    app: FastAPI, client: httpx.AsyncClient, sessions_opened: Callable[[], int]
) -> None:
    routed = await client.get("/api/v1/categories")
    assert await cache_of(app).get(caching.CATEGORY_TREE_KEY) is not None
    before = sessions_opened()
    served = await client.get("/api/v1/categories")
    assert sessions_opened() == before
    assert served.content == routed.content


async def test_metrics_count_cached_answers_under_the_routes_label(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    for _ in range(3):  # one routed (it fills the cache), two answered from it
        assert (await client.get(f"/api/v1/products/{product['id']}")).status_code == 200
    exposition = (await client.get("/metrics")).text
    detail_reads = [
        line
        for line in exposition.splitlines()
        if line.startswith("http_requests_total{")
        and 'method="GET"' in line
        and "{product_id:uuid}" in line
        and 'status="200"' in line
    ]
    assert len(detail_reads) == 1, detail_reads  # one label for both
    assert detail_reads[0].endswith(" 3.0")


SEARCHES = [
    "/api/v1/products",
    "/api/v1/products?q=bolt",
    "/api/v1/products?q=BOLT&in_stock=true",
    "/api/v1/products?q=blot",  # a typo finds it too
    "/api/v1/products?sort=price_asc&limit=5&price_min=0.1&price_max=10",
    "/api/v1/products?currency=eur&quantity=1000",
    "/api/v1/products/facets?q=bolt",
    "/api/v1/products/facets",
]


@pytest.mark.parametrize("path", SEARCHES)
async def test_a_cached_search_is_answered_before_routing_as_the_route_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
    path: str,
) -> None:
    await create_product(client, catalog.headers["owner"])
    await create_product(client, catalog.headers["owner"], name="Hex nut M8")
    routed = await client.get(path)  # fills the cache
    assert routed.status_code == 200, routed.text
    before = sessions_opened()

    served = await client.get(path)

    assert sessions_opened() == before
    assert served.status_code == 200
    assert served.content == routed.content
    for header in ("content-type", "content-length", "vary"):
        assert served.headers.get(header) == routed.headers.get(header), header


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("q=bolt&q=nut", 200),  # repeated: the route takes the last
        ("attr.material=steel", 200),  # attribute filters are read by the route
        ("attribute=material:steel", 200),
        ("price_min=10&price_max=1", 422),
        ("limit=0", 422),
        ("sort=cheapest", 422),
    ],
)
async def test_searches_the_lookup_cannot_read_go_to_the_router(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
    query: str,
    status: int,
) -> None:
    await create_product(client, catalog.headers["owner"])
    for _ in range(2):  # the second would be a hit if the lookup answered it
        before = sessions_opened()
        response = await client.get(f"/api/v1/products?{query}")
        assert response.status_code == status, response.text
        assert sessions_opened() == before + 1


async def test_a_search_after_a_write_is_never_stale(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    first = (await client.get("/api/v1/products?q=bolt")).json()
    assert [item["name"] for item in first["items"]] == ["Hex bolt M8x40"]
    renamed = await client.patch(
        f"/api/v1/products/{product['id']}", json={"name": "Hex bolt M8x45"}, headers=owner
    )
    assert renamed.status_code == 200
    again = (await client.get("/api/v1/products?q=bolt")).json()
    assert [item["name"] for item in again["items"]] == ["Hex bolt M8x45"]
    facets = (await client.get("/api/v1/products/facets?q=bolt")).json()
    assert facets["total"] == 1


async def test_a_buyers_search_is_routed_and_priced_for_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    catalog: Catalog,
    sessions_opened: Callable[[], int],
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    await vip_price_list(client, catalog, product["id"], "0.11")
    anonymous = (await client.get("/api/v1/products?q=bolt")).json()
    assert anonymous["items"][0]["your_price"] is None
    before = sessions_opened()
    mine = await client.get("/api/v1/products?q=bolt", headers=catalog.headers["buyer"])
    assert mine.json()["items"][0]["your_price"] == "0.11"
    assert sessions_opened() == before + 1
