"""Idempotency keys under real concurrency, on the app's real connection pool.

Many requests at once, with one key or with a key each, at the default pool and at a
pool of 5 without overflow: none may wait for a second pooled connection while it
holds one (that starved the pool: every request answered 500 after the pool timeout),
and each key still places exactly one order.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from marketplace.catalog.models import Product
from marketplace.companies.models import Company
from tests.conftest import client_for, make_settings, started_app
from tests.factories import (
    add_member,
    bearer_headers,
    make_company,
    make_product,
    make_user,
    platform_of,
)
from tests.trade.conftest import order_body

POOLS = {
    "default-pool": {},
    "pool-of-5": {"database_pool_size": 5, "database_max_overflow": 0},
}
BULK_STOCK = 100_000


@dataclass
class LoadMarket:
    buyer: Company
    other_buyer: Company
    supplier: Company
    bulk: Product
    user_id: uuid.UUID  # the owner of both buyers
    headers: dict[str, str]  # the buyer's owner, acting for `buyer`
    other_headers: dict[str, str]  # the same user, acting for `other_buyer`


@pytest.fixture(params=list(POOLS))
async def pool_app(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[FastAPI]:
    """The app on its real pooled sessions (each request commits), with the pool of the
    parameter. The per-user rate limit is out of the way: the load is one user's. The
    last of 200 requests arriving at once waits for the 199 before it to give back a
    connection, several seconds on a busy test machine: the pool timeout leaves room for
    that, so that only a request that can never get a connection times out; and so does
    the load shedder's queue (beyond 64 requests in flight the next wait their turn)."""
    settings = make_settings(
        database_url=database_url,
        rate_limit_user="100000/minute",
        database_pool_timeout=60,
        request_queue_timeout_seconds=60,
        **POOLS[request.param],
    )
    async for application in started_app(settings):
        yield application


@pytest.fixture
async def pool_client(pool_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(pool_app, timeout=60) as client:
        yield client


@pytest.fixture
async def load_market(pool_app: FastAPI) -> AsyncIterator[LoadMarket]:
    """Committed: a user who owns two buyer companies, and a product with stock for every
    order of the largest load."""
    database = platform_of(pool_app).database
    async with database.session_factory() as session:
        buyer = await make_company(session, name="Load Buyer GmbH", kind="buyer")
        other_buyer = await make_company(session, name="Second Buyer AG", kind="buyer")
        supplier = await make_company(
            session, name="Bulk Supplies", kind="supplier", verification_status="verified"
        )
        bulk = await make_product(
            session, supplier=supplier, sku="BULK-1", tiers=((1, "1.00"),), stock=BULK_STOCK
        )
        user = await make_user(session, name="Owner of two buyers")
        await add_member(session, buyer, user, "owner")
        await add_member(session, other_buyer, user, "owner")
        headers = await bearer_headers(pool_app, session, user, buyer)
        other_headers = {**headers, "X-Company-ID": str(other_buyer.id)}
        await session.commit()
    yield LoadMarket(buyer, other_buyer, supplier, bulk, user.id, headers, other_headers)
    async with database.session_factory() as session, session.begin():
        # Other tests search this run's whole catalog.
        bulk_product = await session.get(Product, bulk.id)
        assert bulk_product is not None
        bulk_product.status = "archived"


async def fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def orders_of(database_url: str, buyer: Company) -> list[asyncpg.Record]:
    return await fetch(
        database_url, "SELECT id, buyer_id FROM orders WHERE buyer_id = $1", buyer.id
    )


async def stock_of(database_url: str, product: Product) -> Decimal:
    rows = await fetch(database_url, "SELECT stock FROM products WHERE id = $1", product.id)
    stock: Decimal = rows[0]["stock"]
    return stock


def pool_gauge(metrics_text: str, state: str) -> float:
    match = re.search(
        rf'^db_pool_connections\{{state="{state}"\}} (\S+)$', metrics_text, re.MULTILINE
    )
    assert match is not None, f"no db_pool_connections gauge for {state!r}"
    return float(match.group(1))


async def assert_pool_is_calm(client: httpx.AsyncClient) -> None:
    """Nothing is left waiting for a connection once the load is over. The app's event
    delivery goes on for a moment after the requests (consumers, notifications), and
    may check out a connection of its own meanwhile: a few seconds to settle."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        text = (await client.get("/metrics")).text
        if pool_gauge(text, "waiting") == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert pool_gauge(text, "waiting") == 0


@pytest.mark.parametrize("concurrency", [20, 50, 100])
async def test_concurrent_requests_with_one_key_place_one_order(
    pool_client: httpx.AsyncClient, load_market: LoadMarket, database_url: str, concurrency: int
) -> None:
    headers = {**load_market.headers, "Idempotency-Key": f"one-key-{uuid.uuid4()}"}
    body = order_body((load_market.bulk, 3))
    responses = await asyncio.gather(
        *(
            pool_client.post("/api/v1/orders", json=body, headers=headers)
            for _ in range(concurrency)
        )
    )
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = {response.json()["id"] for response in responses if response.status_code == 201}
    orders = await orders_of(database_url, load_market.buyer)
    assert [str(order["id"]) for order in orders] == list(created)  # exactly one, replayed
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("idempotency-in-progress")
    assert await stock_of(database_url, load_market.bulk) == BULK_STOCK - 3
    # After the load, the key still answers with the first response.
    replay = await pool_client.post("/api/v1/orders", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.json()["id"] in created
    assert replay.headers["idempotent-replayed"] == "true"
    await assert_pool_is_calm(pool_client)


@pytest.mark.parametrize("concurrency", [64, 200])
async def test_concurrent_requests_each_with_its_own_key_place_one_order_each(
    pool_client: httpx.AsyncClient, load_market: LoadMarket, database_url: str, concurrency: int
) -> None:
    run = uuid.uuid4()
    body = order_body((load_market.bulk, 2))
    responses = await asyncio.gather(
        *(
            pool_client.post(
                "/api/v1/orders",
                json=body,
                headers={**load_market.headers, "Idempotency-Key": f"own-key-{run}-{index}"},
            )
            for index in range(concurrency)
        )
    )
    assert [response.status_code for response in responses] == [201] * concurrency
    created = {response.json()["id"] for response in responses}
    assert len(created) == concurrency
    orders = await orders_of(database_url, load_market.buyer)
    assert {str(order["id"]) for order in orders} == created
    assert await stock_of(database_url, load_market.bulk) == BULK_STOCK - 2 * concurrency
    await assert_pool_is_calm(pool_client)


async def test_a_key_is_scoped_to_the_acting_company(
    pool_client: httpx.AsyncClient, load_market: LoadMarket, database_url: str
) -> None:
    """One user, two companies, one key: each company gets its own order."""
    key = f"shared-{uuid.uuid4()}"
    body = order_body((load_market.bulk, 5))
    for_buyer = await pool_client.post(
        "/api/v1/orders", json=body, headers={**load_market.headers, "Idempotency-Key": key}
    )
    for_other = await pool_client.post(
        "/api/v1/orders", json=body, headers={**load_market.other_headers, "Idempotency-Key": key}
    )
    assert for_buyer.status_code == for_other.status_code == 201
    assert "idempotent-replayed" not in for_other.headers
    assert for_buyer.json()["buyer_id"] == str(load_market.buyer.id)
    assert for_other.json()["buyer_id"] == str(load_market.other_buyer.id)
    assert len(await orders_of(database_url, load_market.buyer)) == 1
    assert len(await orders_of(database_url, load_market.other_buyer)) == 1
    # Each company's retry is answered with its own order.
    again = await pool_client.post(
        "/api/v1/orders", json=body, headers={**load_market.other_headers, "Idempotency-Key": key}
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == for_other.json()["id"]
    assert await stock_of(database_url, load_market.bulk) == BULK_STOCK - 10


async def test_a_key_is_scoped_to_the_endpoint(
    pool_client: httpx.AsyncClient, load_market: LoadMarket, database_url: str
) -> None:
    """The same key on another endpoint is another request, not a reuse (422) of it."""
    headers = {**load_market.headers, "Idempotency-Key": f"endpoint-{uuid.uuid4()}"}
    placed = await pool_client.post(
        "/api/v1/orders", json=order_body((load_market.bulk, 4)), headers=headers
    )
    assert placed.status_code == 201
    line = await pool_client.put(
        f"/api/v1/cart/lines/{load_market.bulk.id}",
        json={"quantity": "6"},
        headers=load_market.headers,
    )
    assert line.status_code == 200
    checkout = await pool_client.post(
        "/api/v1/checkout",
        json={"shipping_address": order_body()["shipping_address"]},
        headers=headers,
    )
    assert checkout.status_code == 201, checkout.json()
    assert "idempotent-replayed" not in checkout.headers
    assert len(await orders_of(database_url, load_market.buyer)) == 2
    assert await stock_of(database_url, load_market.bulk) == BULK_STOCK - 10


async def test_an_expired_key_starts_a_new_request(
    pool_client: httpx.AsyncClient, load_market: LoadMarket, database_url: str
) -> None:
    """After its 24 hours a key's answer is gone, even when the body differs (no 422):
    the request runs, and its answer replaces the expired one."""
    key = f"expired-{uuid.uuid4()}"
    await fetch(
        database_url,
        "INSERT INTO idempotency_records (principal, company_id, method, path, key, "
        "request_hash, response_status, response_body, response_headers, expires_at) "
        "VALUES ($1, $2, 'POST', '/api/v1/orders', $3, $4, 201, '{}', '{}', "
        "now() - interval '1 minute')",
        f"user:{load_market.user_id}",
        load_market.buyer.id,
        key,
        "0" * 64,
    )
    headers = {**load_market.headers, "Idempotency-Key": key}
    body = order_body((load_market.bulk, 7))
    first = await pool_client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await pool_client.post("/api/v1/orders", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(await orders_of(database_url, load_market.buyer)) == 1


async def test_the_expiry_job_forgets_only_expired_answers(
    pool_app: FastAPI, load_market: LoadMarket, database_url: str
) -> None:
    from marketplace.core.scheduler import run_job_once
    from marketplace.jobs import build_jobs

    keys = {"live": f"live-{uuid.uuid4()}", "expired": f"old-{uuid.uuid4()}"}
    for state, key in keys.items():
        await fetch(
            database_url,
            "INSERT INTO idempotency_records (principal, company_id, method, path, key, "
            "request_hash, response_status, response_body, response_headers, expires_at) "
            "VALUES ($1, $2, 'POST', '/api/v1/orders', $3, $4, 201, '{}', '{}', "
            "now() + $5 * interval '1 hour')",
            f"user:{load_market.user_id}",
            load_market.buyer.id,
            key,
            "0" * 64,
            1 if state == "live" else -1,
        )
    job = {job.name: job for job in build_jobs()}["idempotency-expiry"]
    deleted = await run_job_once(platform_of(pool_app), job)
    assert deleted is not None
    assert deleted >= 1  # others' expired answers in this run's database go too
    left = await fetch(
        database_url,
        "SELECT key FROM idempotency_records WHERE key = ANY($1::text[])",
        list(keys.values()),
    )
    assert [row["key"] for row in left] == [keys["live"]]
