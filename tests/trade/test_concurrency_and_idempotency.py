"""Real concurrent requests on committed data: no oversell, no deadlock surfacing as a
500, one order per idempotency key."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest

from tests.trade.conftest import ADDRESS, Market, order_body


async def scalar(database_url: str, query: str, *args: object) -> object:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def orders_of(database_url: str, market: Market) -> int:
    return int(
        await scalar(
            database_url, "SELECT count(*) FROM orders WHERE buyer_id = $1", market.buyer.id
        )
    )  # type: ignore[arg-type]


async def test_sixty_concurrent_orders_never_oversell(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    # NUT-M8 has stock 10; 60 buyers' requests of 1 each race for it.
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/orders",
                json=order_body((live_market.nuts, 1)),
                headers=live_market.headers["owner"],
            )
            for _ in range(60)
        )
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 50
    assert 500 not in statuses
    assert await scalar(
        database_url, "SELECT stock FROM products WHERE id = $1", live_market.nuts.id
    ) == Decimal("0")
    assert await orders_of(database_url, live_market) == 10


async def test_overlapping_checkouts_do_not_deadlock(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    """Carts with the same products in opposite orders, checked out at once."""
    roles = ["owner", "admin"]
    products = [live_market.bolts, live_market.washers]
    for index, role in enumerate(roles):
        ordered = products if index % 2 == 0 else list(reversed(products))
        for product in ordered:
            quantity = "10" if product is live_market.bolts else "5"
            response = await live_client.put(
                f"/api/v1/cart/lines/{product.id}",
                json={"quantity": quantity},
                headers=live_market.headers[role],
            )
            assert response.status_code == 200
    results = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/checkout",
                json={"shipping_address": ADDRESS},
                headers=live_market.headers[role],
            )
            for role in roles
        )
    )
    assert [result.status_code for result in results] == [201, 201]
    assert await scalar(
        database_url, "SELECT stock FROM products WHERE id = $1", live_market.washers.id
    ) == Decimal("40")
    assert await scalar(
        database_url, "SELECT stock FROM products WHERE id = $1", live_market.bolts.id
    ) == Decimal("980")


async def test_concurrent_retries_with_one_key_make_one_order(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    headers = {**live_market.headers["owner"], "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/orders", json=order_body((live_market.bolts, 10)), headers=headers
            )
            for _ in range(12)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert 500 not in statuses
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    created = {response.json()["id"] for response in responses if response.status_code == 201}
    assert len(created) == 1  # replays return the same order
    assert await orders_of(database_url, live_market) == 1
    replay = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.bolts, 10)), headers=headers
    )
    assert replay.status_code == 201
    assert replay.json()["id"] in created


async def test_same_idempotency_key_replays_the_first_response(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    headers = {**live_market.headers["owner"], "Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.bolts, 10)), headers=headers
    )
    second = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.bolts, 10)), headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await orders_of(database_url, live_market) == 1
    different = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.bolts, 20)), headers=headers
    )
    assert different.status_code == 422
    assert different.json()["type"].endswith("idempotency-key-reused")


async def test_a_failure_is_replayed_as_the_same_failure(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    headers = {**live_market.headers["owner"], "Idempotency-Key": f"too-big-{uuid.uuid4()}"}
    first = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.washers, 60)), headers=headers
    )
    assert first.status_code == 409
    await scalar(
        database_url, "UPDATE products SET stock = 100 WHERE id = $1", live_market.washers.id
    )
    replay = await live_client.post(
        "/api/v1/orders", json=order_body((live_market.washers, 60)), headers=headers
    )
    assert replay.status_code == 409
    assert replay.json()["detail"] == first.json()["detail"]
    assert await orders_of(database_url, live_market) == 0


async def test_keys_are_scoped_to_the_caller(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    for role in ("owner", "admin"):
        response = await live_client.post(
            "/api/v1/orders",
            json=order_body((live_market.bolts, 10)),
            headers={**live_market.headers[role], "Idempotency-Key": "shared-key"},
        )
        assert response.status_code == 201
    assert await orders_of(database_url, live_market) == 2


@pytest.mark.parametrize("key", ["", " padded", "x" * 256])
async def test_invalid_idempotency_keys_are_422(
    live_client: httpx.AsyncClient, live_market: Market, key: str
) -> None:
    response = await live_client.post(
        "/api/v1/orders",
        json=order_body((live_market.bolts, 10)),
        headers={**live_market.headers["owner"], "Idempotency-Key": key},
    )
    assert response.status_code == 422
