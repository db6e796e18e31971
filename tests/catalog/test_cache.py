"""The shared cache of product details and the category tree, on a real Redis:
every kind of write that changes what an entry shows removes it, and a buyer's own
price never enters it."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from marketplace.catalog import caching
from marketplace.core.cache import Cache, RedisCache
from marketplace.core.db import to_async_url
from marketplace.core.redis import create_redis
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, create_product
from tests.conftest import REDIS_URL, make_settings, require_service
from tests.factories import platform_of


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    require_service("Redis", REDIS_URL, 6379)
    return make_settings(
        database_url=database_url, redis_url=REDIS_URL, storage_dir=tmp_path / "storage"
    )


def cache_of(app: FastAPI) -> Cache:
    cache = platform_of(app).cache
    assert cache.mode == "external"
    return cache


async def cached(app: FastAPI, product_id: str) -> bytes | None:
    return await cache_of(app).get(caching.product_key(uuid.UUID(product_id)))


async def warm(client: httpx.AsyncClient, app: FastAPI, product_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/products/{product_id}")
    assert response.status_code == 200, response.text
    assert await cached(app, product_id) is not None
    body: dict[str, Any] = response.json()
    return body


async def vip_price_list(
    client: httpx.AsyncClient, catalog: Catalog, product_id: str, unit_price: str
) -> dict[str, Any]:
    """A price list of the supplier pricing the product at `unit_price` from 100 units,
    given to the catalog's buyer."""
    owner = catalog.headers["owner"]
    price_list: dict[str, Any] = (
        await client.post("/api/v1/price-lists", json={"name": "VIP"}, headers=owner)
    ).json()
    await client.put(
        f"/api/v1/price-lists/{price_list['id']}/products/{product_id}",
        json={"tiers": [{"min_qty": "100", "unit_price": unit_price}]},
        headers=owner,
    )
    await client.post(
        f"/api/v1/price-lists/{price_list['id']}/assignments",
        json={"buyer_id": str(catalog.buyer_id)},
        headers=owner,
    )
    return price_list


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_anonymous_reads_are_served_from_the_cache(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    assert await cached(app, product["id"]) is None
    first = await warm(client, app, product["id"])
    # The entry is what is served: change it behind the service's back.
    key = caching.product_key(uuid.UUID(product["id"]))
    entry = (await cache_of(app).get(key) or b"").replace(b"Hex bolt M8x40", b"From the cache")
    await cache_of(app).set(key, entry, 60)
    second = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert second["name"] == "From the cache"
    assert first["name"] == "Hex bolt M8x40"


@pytest.mark.parametrize(
    "write",
    [
        "rename",
        "tiers",
        "stock",
        "archive",
        "image_upload",
        "image_delete",
        "block",
        "category_rename",
        "variant_added",
        "variant_changed",
    ],
)
async def test_each_kind_of_write_invalidates_the_product(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog, write: str
) -> None:
    owner = catalog.headers["owner"]
    staff = catalog.headers["staff"]
    await client.post(
        "/api/v1/admin/categories", json={"slug": "cache-test", "name": "Before"}, headers=staff
    )
    product = await create_product(client, owner, category="cache-test")
    pid = product["id"]
    image_id = None
    variant_id = None
    if write == "image_delete":
        image_id = (
            await client.post(
                f"/api/v1/products/{pid}/images",
                files={"file": ("p.png", png(), "image/png")},
                headers=owner,
            )
        ).json()["id"]
    if write == "variant_changed":
        variant_id = (await create_product(client, owner, parent_id=pid, name="Variant"))["id"]
    before = await warm(client, app, pid)

    if write == "rename":
        await client.patch(f"/api/v1/products/{pid}", json={"name": "Renamed"}, headers=owner)
    elif write == "tiers":
        await client.patch(
            f"/api/v1/products/{pid}",
            json={"price_tiers": [{"min_qty": "100", "unit_price": "0.21"}]},
            headers=owner,
        )
    elif write == "stock":
        await client.patch(f"/api/v1/products/{pid}", json={"stock": "0"}, headers=owner)
    elif write == "archive":
        await client.delete(f"/api/v1/products/{pid}", headers=owner)
    elif write == "image_upload":
        response = await client.post(
            f"/api/v1/products/{pid}/images",
            files={"file": ("p.png", png(), "image/png")},
            headers=owner,
        )
        assert response.status_code == 201
    elif write == "image_delete":
        await client.delete(f"/api/v1/products/{pid}/images/{image_id}", headers=owner)
    elif write == "block":
        await client.post(
            f"/api/v1/admin/products/{pid}/block", json={"reason": "Counterfeit"}, headers=staff
        )
    elif write == "category_rename":
        await client.patch(
            "/api/v1/admin/categories/cache-test", json={"name": "After"}, headers=staff
        )
    elif write == "variant_added":
        await create_product(client, owner, parent_id=pid, name="New variant")
    elif write == "variant_changed":
        await client.patch(
            f"/api/v1/products/{variant_id}", json={"name": "Variant renamed"}, headers=owner
        )

    assert await cached(app, pid) is None, f"{write} left a stale entry"
    response = await client.get(f"/api/v1/products/{pid}")
    if write in ("archive", "block"):
        assert response.status_code == 404
        return
    after = response.json()
    assert after != before
    expected = {
        "rename": lambda: after["name"] == "Renamed",
        "tiers": lambda: after["price_tiers"] == [{"min_qty": "100", "unit_price": "0.21"}],
        "stock": lambda: after["in_stock"] is False,
        "image_upload": lambda: len(after["images"]) == 1,
        "image_delete": lambda: after["images"] == [],
        "category_rename": lambda: after["category"]["name"] == "After",
        "variant_added": lambda: [v["name"] for v in after["variants"]] == ["New variant"],
        "variant_changed": lambda: [v["name"] for v in after["variants"]] == ["Variant renamed"],
    }[write]
    assert expected()


async def test_unblocking_brings_the_product_back(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    staff = catalog.headers["staff"]
    url = f"/api/v1/products/{product['id']}"
    await warm(client, app, product["id"])
    blocked = await client.post(
        f"/api/v1/admin/products/{product['id']}/block", json={"reason": "Check"}, headers=staff
    )
    assert blocked.json()["moderation"] == {"is_blocked": True, "blocked_reason": "Check"}
    assert (await client.get(url)).status_code == 404
    # The supplier still sees it, with the reason.
    own = (await client.get(url, headers=catalog.headers["owner"])).json()
    assert own["moderation"]["blocked_reason"] == "Check"
    await client.post(f"/api/v1/admin/products/{product['id']}/unblock", headers=staff)
    assert (await client.get(url)).status_code == 200


async def test_a_buyers_price_never_enters_the_shared_entry(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    price_list = await vip_price_list(client, catalog, product["id"], "0.11")
    mine = await client.get(f"/api/v1/products/{product['id']}", headers=catalog.headers["buyer"])
    assert mine.json()["your_price"]["unit_price"] == "0.11"
    entry = await cached(app, product["id"])
    assert entry is not None
    assert b"0.11" not in entry
    assert b'"your_price":null' in entry
    # A price-list change needs no invalidation: buyer prices are never cached.
    await client.put(
        f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}",
        json={"tiers": [{"min_qty": "100", "unit_price": "0.12"}]},
        headers=owner,
    )
    again = await client.get(f"/api/v1/products/{product['id']}", headers=catalog.headers["buyer"])
    assert again.json()["your_price"]["unit_price"] == "0.12"


async def test_category_tree_is_cached_and_invalidated(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert (await client.get("/api/v1/categories")).status_code == 200
    assert await cache_of(app).get(caching.CATEGORY_TREE_KEY) is not None
    staff = catalog.headers["staff"]
    await client.post(
        "/api/v1/admin/categories", json={"slug": "fresh-one", "name": "Fresh"}, headers=staff
    )
    assert await cache_of(app).get(caching.CATEGORY_TREE_KEY) is None
    assert b"fresh-one" in (await client.get("/api/v1/categories")).content
    await client.delete("/api/v1/admin/categories/fresh-one", headers=staff)
    assert b"fresh-one" not in (await client.get("/api/v1/categories")).content


@pytest.fixture
async def redis_cache() -> AsyncIterator[RedisCache]:
    require_service("Redis", REDIS_URL, 6379)
    cache = RedisCache(create_redis(REDIS_URL), prefix=f"mp-test-{uuid.uuid4().hex[:8]}:")
    yield cache
    await cache.close()


async def test_entries_are_deleted_again_after_commit(
    database_url: str, redis_cache: RedisCache
) -> None:
    """A reader that loaded the old row before the commit and stored it after the first
    delete is undone by the second delete, after commit."""
    engine = create_async_engine(to_async_url(database_url))
    try:
        async with AsyncSession(engine) as session:
            await session.execute(text("SELECT 1"))
            await redis_cache.set("k", b"old", 60)
            await caching.invalidate(session, redis_cache, ["k"])
            assert await redis_cache.get("k") is None
            await redis_cache.set("k", b"stale, stored by a racing reader", 60)
            await session.commit()
            await caching.drain()
            assert await redis_cache.get("k") is None

        async with AsyncSession(engine) as session:
            await session.execute(text("SELECT 1"))
            await caching.invalidate(session, redis_cache, ["k2"])
            await redis_cache.set("k2", b"refilled", 60)
            await session.rollback()
            await caching.drain()
            # Rolled back: nothing changed, the refilled entry is right and stays.
            assert await redis_cache.get("k2") == b"refilled"
    finally:
        await engine.dispose()


async def test_reads_survive_a_cache_that_is_down(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    platform = platform_of(app)
    working = platform.cache
    platform.cache = RedisCache(create_redis("redis://127.0.0.1:1/0"))  # nothing listens
    try:
        response = await client.get(f"/api/v1/products/{product['id']}")
        assert response.status_code == 200
        changed = await client.patch(
            f"/api/v1/products/{product['id']}",
            json={"name": "Still works"},
            headers=catalog.headers["owner"],
        )
        assert changed.status_code == 200
        assert (await client.get("/api/v1/categories")).status_code == 200
    finally:
        await platform.cache.close()
        platform.cache = working


async def test_a_suppliers_verification_change_drops_its_cached_products(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    from datetime import UTC, datetime

    from marketplace.catalog.consumers import CATALOG_CACHE
    from marketplace.consumers import build_registry
    from marketplace.core.events import EventEnvelope

    assert build_registry().get("catalog-cache") is CATALOG_CACHE
    assert CATALOG_CACHE.wants("company.verification_rejected")
    assert not CATALOG_CACHE.wants("order.placed")
    product = await create_product(client, catalog.headers["owner"])
    other = await create_product(client, catalog.headers["outsider"])
    await warm(client, app, product["id"])
    await warm(client, app, other["id"])
    event = EventEnvelope(
        id=uuid.uuid4(),
        type="company.verification_rejected",
        version=1,
        aggregate_type="company",
        aggregate_id=catalog.supplier_id,
        company_ids=[catalog.supplier_id],
        actor_user_id=None,
        actor_api_key_id=None,
        actor_is_staff=True,
        request_id=None,
        ip=None,
        occurred_at=datetime.now(UTC),
        payload={},
    )
    await CATALOG_CACHE.handler(db_session, platform_of(app), event)
    assert await cached(app, product["id"]) is None
    assert await cached(app, other["id"]) is not None
