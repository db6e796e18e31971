"""Stock that anyone is shown follows the orders that take it and the cancellations that
give it back at once, on the cached reads too; the cart says what is available; a 409
names each product short of stock and what it has.

The cache tests run on the live app (each request commits, as in production) with Redis,
so that cached reads are answered the way visitors get them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marketplace.catalog import caching
from marketplace.settings import Settings
from tests.conftest import REDIS_URL, make_settings, require_service
from tests.factories import platform_of
from tests.trade.conftest import Market, order_body


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    require_service("Redis", REDIS_URL, 6379)
    return make_settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        storage_dir=tmp_path / "storage",
        rate_limit_anonymous="100000/minute",
    )


async def detail(
    client: httpx.AsyncClient, market: Market, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/products/{market.bolts.id}", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cached_detail(app: FastAPI, market: Market) -> bytes | None:
    return await platform_of(app).cache.get(caching.product_key(market.bolts.id))


async def place(client: httpx.AsyncClient, market: Market, quantity: int) -> str:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, quantity)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def cancel(client: httpx.AsyncClient, market: Market, order_id: str) -> None:
    response = await client.post(
        f"/api/v1/orders/{order_id}/transitions",
        json={"action": "cancel", "reason": "changed our mind"},
        headers=market.headers["owner"],
    )
    assert response.status_code == 200, response.text


async def test_an_order_shows_in_the_cached_detail_at_once_and_so_does_its_cancellation(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_market: Market
) -> None:
    client, market = live_client, live_market
    buyer = market.headers["purchaser"]
    assert (await detail(client, market))["stock"] == "1000"
    assert await cached_detail(live_app, market) is not None  # what visitors are served
    assert (await detail(client, market, buyer))["stock"] == "1000"

    order_id = await place(client, market, 600)

    # The next reads, anonymous (answered from the cache before routing once it is
    # filled again) and a buyer's (built on the cached entry), show the new figure.
    for headers in (None, None, buyer):
        shown = await detail(client, market, headers)
        assert (shown["stock"], shown["in_stock"]) == ("400", True), headers
    assert b'"stock":"400"' in (await cached_detail(live_app, market) or b"")

    await cancel(client, market, order_id)

    for headers in (None, None, buyer):
        assert (await detail(client, market, headers))["stock"] == "1000", headers
    await caching.drain()


async def search(client: httpx.AsyncClient, market: Market, **params: str) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/products", params={"q": "BOLT-M8", "supplier": str(market.supplier.id), **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def in_stock_count(client: httpx.AsyncClient, market: Market) -> int:
    response = await client.get(
        "/api/v1/products/facets",
        params={"q": "BOLT-M8", "supplier": str(market.supplier.id), "in_stock": "true"},
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


async def shown_in_search(client: httpx.AsyncClient, market: Market) -> tuple[bool, int, int]:
    """(in_stock of the item, items of the in-stock search, the in-stock facets' total)."""
    [item] = (await search(client, market))["items"]
    in_stock = (await search(client, market, in_stock="true"))["items"]
    return item["in_stock"], len(in_stock), await in_stock_count(client, market)


async def search_generation(app: FastAPI) -> bytes | None:
    return await platform_of(app).cache.get(caching.SEARCH_GENERATION_KEY)


async def test_cached_search_follows_a_product_out_of_stock_and_back(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_market: Market
) -> None:
    client, market = live_client, live_market
    assert await shown_in_search(client, market) == (True, 1, 1)
    generation = await search_generation(live_app)
    assert generation is not None  # the pages and facets above are cached under it

    # Still in stock (400 left, MOQ 10): the cached results stay as they are, right.
    first = await place(client, market, 600)
    await caching.drain()
    assert await search_generation(live_app) == generation
    assert await shown_in_search(client, market) == (True, 1, 1)

    # Out of stock: every cached search that shows it is retired at once.
    second = await place(client, market, 400)
    assert await shown_in_search(client, market) == (False, 0, 0)

    # A cancellation brings it back.
    await cancel(client, market, second)
    assert await shown_in_search(client, market) == (True, 1, 1)
    await cancel(client, market, first)
    await caching.drain()


async def test_the_cart_says_what_is_available(client: httpx.AsyncClient, market: Market) -> None:
    owner = market.headers["owner"]
    for product, quantity in ((market.bolts, "1000000000"), (market.washers, "50")):
        response = await client.put(
            f"/api/v1/cart/lines/{product.id}", json={"quantity": quantity}, headers=owner
        )
        assert response.status_code == 200, response.text
    cart = response.json()
    lines = {line["sku"]: line for line in cart["lines"]}
    assert (lines["BOLT-M8"]["available"], Decimal(lines["BOLT-M8"]["available_quantity"])) == (
        False,
        Decimal(1000),
    )
    assert (lines["WASHER-M8"]["available"], Decimal(lines["WASHER-M8"]["available_quantity"])) == (
        True,
        Decimal(50),
    )
    # Only what can be ordered counts towards the subtotal.
    assert cart["subtotals"] == [
        {
            "supplier_id": str(market.supplier.id),
            "supplier_name": market.supplier.name,
            "currency": "EUR",
            "subtotal": "0.63",
            "lines": 1,
        }
    ]

    response = await client.put(
        f"/api/v1/cart/lines/{market.bolts.id}", json={"quantity": "1000"}, headers=owner
    )
    bolts = next(line for line in response.json()["lines"] if line["sku"] == "BOLT-M8")
    assert bolts["available"] is True


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (
            "en",
            "Not enough stock, nothing was ordered: Hex bolt M8 (SKU BOLT-M8): "
            "1,000 available, 1,000,000,000 requested.",
        ),
        (
            "de",
            "Nicht genug Bestand, es wurde nichts bestellt: Hex bolt M8 (Artikelnummer "
            "BOLT-M8): verfügbar 1.000, bestellt 1.000.000.000.",
        ),
        (
            "fr",
            "Stock insuffisant, rien n'a été commandé : Hex bolt M8 (référence BOLT-M8) : "
            "disponible 1\u202f000, demandé 1\u202f000\u202f000\u202f000.",
        ),
        (
            "es",
            "No hay existencias suficientes; no se ha pedido nada: Hex bolt M8 (referencia "
            "BOLT-M8): disponible 1.000, pedido 1.000.000.000.",
        ),
    ],
)
async def test_insufficient_stock_names_the_product_and_what_is_available(
    client: httpx.AsyncClient, market: Market, language: str, detail: str
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 1_000_000_000), (market.washers, 8)),
        headers={**market.headers["owner"], "Accept-Language": language},
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("insufficient-stock")
    assert body["detail"] == detail
    assert body["shortages"] == [
        {
            "product_id": str(market.bolts.id),
            "sku": "BOLT-M8",
            "name": "Hex bolt M8",
            "unit": "piece",
            "requested": "1000000000",
            "available": "1000",
        }
    ]
    assert [error["product_id"] for error in body["errors"]] == [str(market.bolts.id)]


async def test_every_product_short_of_stock_is_named(
    client: httpx.AsyncClient, market: Market
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 2000), (market.washers, 51)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 409
    shortages = {item["sku"]: item for item in response.json()["shortages"]}
    assert {sku: (item["requested"], item["available"]) for sku, item in shortages.items()} == {
        "BOLT-M8": ("2000", "1000"),
        "WASHER-M8": ("51", "50"),
    }
    for sku in ("BOLT-M8", "WASHER-M8"):
        assert sku in response.json()["detail"]
