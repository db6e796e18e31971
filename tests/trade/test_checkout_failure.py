"""A database error in the middle of a checkout: the first supplier's order is written,
the second one's insert fails. Nothing of it may survive: no order, no reservation, no
event, and the cart is still there to try again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import httpx
import pytest

from tests.trade.conftest import ADDRESS, Market

# Fails the second order inserted by one transaction: a real error raised by the
# database after the first supplier's order (and every reservation) is written.
FAIL_SECOND_ORDER = """
CREATE FUNCTION test_fail_second_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.orders_in_transaction', true) = '1' THEN
        RAISE EXCEPTION 'injected failure after the first order of a checkout';
    END IF;
    PERFORM set_config('test.orders_in_transaction', '1', true);
    RETURN NEW;
END $$;
CREATE TRIGGER test_fail_second_order BEFORE INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION test_fail_second_order();
"""
REMOVE_TRIGGER = """
DROP TRIGGER IF EXISTS test_fail_second_order ON orders;
DROP FUNCTION IF EXISTS test_fail_second_order();
"""


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.execute(REMOVE_TRIGGER)
        await connection.close()


async def test_a_failure_after_the_first_suppliers_order_leaves_nothing_behind(
    live_client: httpx.AsyncClient, live_market: Market, database: asyncpg.Connection
) -> None:
    market, owner = live_market, live_market.headers["owner"]
    # Two suppliers: bolts and washers from one, nuts from the other.
    for product, quantity in ((market.bolts, "100"), (market.washers, "4"), (market.nuts, "3")):
        response = await live_client.put(
            f"/api/v1/cart/lines/{product.id}", json={"quantity": quantity}, headers=owner
        )
        assert response.status_code == 200, response.text
    products = [market.bolts.id, market.washers.id, market.nuts.id]
    stock_before = await database.fetch(
        "SELECT id, stock FROM products WHERE id = ANY($1::uuid[]) ORDER BY id", products
    )
    buyer_events = "SELECT count(*) FROM outbox_events WHERE $1 = ANY(company_ids)"
    events_before = await database.fetchval(buyer_events, market.buyer.id)
    await database.execute(FAIL_SECOND_ORDER)

    response = await live_client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=owner
    )

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "injected failure" not in response.text  # no SQL or error text leaks
    assert (
        await database.fetchval("SELECT count(*) FROM orders WHERE buyer_id = $1", market.buyer.id)
        == 0
    )
    assert (
        await database.fetchval(
            "SELECT count(*) FROM order_lines WHERE product_id = ANY($1::uuid[])", products
        )
        == 0
    )
    assert (
        await database.fetch(
            "SELECT id, stock FROM products WHERE id = ANY($1::uuid[]) ORDER BY id", products
        )
        == stock_before
    )
    assert await database.fetchval(buyer_events, market.buyer.id) == events_before

    # The cart survived, and once the fault is gone the same checkout succeeds.
    cart = (await live_client.get("/api/v1/cart", headers=owner)).json()
    assert len(cart["lines"]) == 3
    await database.execute(REMOVE_TRIGGER)
    response = await live_client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=owner
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["orders"]) == 2
    stock_after = dict(
        await database.fetch("SELECT id, stock FROM products WHERE id = ANY($1::uuid[])", products)
    )
    assert stock_after[market.bolts.id] == Decimal("900")
    assert stock_after[market.nuts.id] == Decimal("7")
