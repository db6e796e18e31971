"""Approval rules judged over a whole purchase: a checkout split into one order per
supplier, or an RFQ awarded to several suppliers, against the purchaser's spending
limit, the company's threshold and the purchaser's monthly budget.

The market's purchaser has a spending limit of 100.00. Bolts cost 0.50 from 10 and
0.40 from 100 pieces (supplier); gloves 30.00 each (other supplier)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.trade.orders.approvals import month_of
from tests.factories import make_product
from tests.trade.conftest import ADDRESS, Market, order_body
from tests.trade.test_rfqs import open_rfq, quote


@pytest.fixture
async def gloves(db_session: AsyncSession, market: Market) -> Product:
    return await make_product(
        db_session, supplier=market.other_supplier, sku="GLOVE-9", tiers=((1, "30.0000"),)
    )


async def checkout(
    client: httpx.AsyncClient, headers: dict[str, str], *lines: tuple[Product, int]
) -> list[dict[str, Any]]:
    for product, quantity in lines:
        response = await client.put(
            f"/api/v1/cart/lines/{product.id}", json={"quantity": str(quantity)}, headers=headers
        )
        assert response.status_code == 200, response.text
    response = await client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=headers
    )
    assert response.status_code == 201, response.text
    orders: list[dict[str, Any]] = response.json()["orders"]
    return orders


async def order(
    client: httpx.AsyncClient, headers: dict[str, str], product: Product, quantity: int
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/orders", json=order_body((product, quantity)), headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def statuses(orders: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((order["total"], order["status"]) for order in orders)


async def test_a_checkout_over_the_limit_waits_as_a_whole(
    client: httpx.AsyncClient, market: Market, gloves: Product
) -> None:
    """80.00 and 30.00: each order is within the limit, the checkout is not."""
    orders = await checkout(client, market.headers["purchaser"], (market.bolts, 200), (gloves, 1))
    assert statuses(orders) == [("30.00", "pending_approval"), ("80.00", "pending_approval")]
    for placed in orders:
        approved = await client.post(
            f"/api/v1/orders/{placed['id']}/transitions",
            json={"action": "approve"},
            headers=market.headers["admin"],
        )
        assert approved.json()["status"] == "placed"


async def test_a_checkout_up_to_the_limit_is_placed(
    client: httpx.AsyncClient, market: Market, gloves: Product
) -> None:
    orders = await checkout(client, market.headers["purchaser"], (market.bolts, 100), (gloves, 2))
    assert statuses(orders) == [("40.00", "placed"), ("60.00", "placed")]


async def test_the_limit_applies_in_each_currency_on_its_own(
    client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    """No currency is converted: 80.00 EUR and 30.00 GBP are both within 100.00."""
    pounds = await make_product(
        db_session,
        supplier=market.other_supplier,
        sku="GLOVE-GB",
        currency="GBP",
        tiers=((1, "30.0000"),),
    )
    orders = await checkout(client, market.headers["purchaser"], (market.bolts, 200), (pounds, 1))
    assert sorted((o["currency"], o["status"]) for o in orders) == [
        ("EUR", "placed"),
        ("GBP", "placed"),
    ]
    # 120.00 GBP is over the limit: the whole checkout waits, its EUR order too.
    more = await checkout(client, market.headers["purchaser"], (market.bolts, 200), (pounds, 4))
    assert sorted((o["currency"], o["status"]) for o in more) == [
        ("EUR", "pending_approval"),
        ("GBP", "pending_approval"),
    ]


async def test_the_company_threshold_applies_to_the_whole_checkout(
    client: httpx.AsyncClient, market: Market, gloves: Product
) -> None:
    policy = await client.put(
        f"/api/v1/companies/{market.buyer.id}/purchasing-policy",
        json={"approval_threshold": "50.00"},
        headers=market.headers["owner"],
    )
    assert policy.status_code == 200
    orders = await checkout(client, market.headers["purchaser"], (market.bolts, 100), (gloves, 1))
    assert statuses(orders) == [("30.00", "pending_approval"), ("40.00", "pending_approval")]
    owners = await checkout(client, market.headers["owner"], (market.bolts, 100), (gloves, 1))
    assert statuses(owners) == [("30.00", "placed"), ("40.00", "placed")]


async def test_an_rfq_award_to_several_suppliers_waits_as_a_whole(
    client: httpx.AsyncClient, market: Market
) -> None:
    items = [
        {"description": "Brackets, drawing B-12", "quantity": "1", "unit": "piece"},
        {"description": "Hinges, drawing H-3", "quantity": "1", "unit": "piece"},
    ]
    rfq = await open_rfq(client, market, items=items)
    first = await quote(client, market, rfq, "supplier", ["60.00", "70.00"])
    second = await quote(client, market, rfq, "other_supplier", ["65.00", "55.00"])
    awarded = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award",
        json={
            "lines": [
                {"rfq_item_id": rfq["items"][0]["id"], "quote_id": first["id"]},
                {"rfq_item_id": rfq["items"][1]["id"], "quote_id": second["id"]},
            ],
            "shipping_address": ADDRESS,
        },
        headers=market.headers["purchaser"],
    )
    assert awarded.status_code == 201, awarded.text
    orders = [
        (await client.get(f"/api/v1/orders/{order_id}", headers=market.headers["owner"])).json()
        for order_id in awarded.json()["order_ids"]
    ]
    assert statuses(orders) == [("55.00", "pending_approval"), ("60.00", "pending_approval")]


async def set_budget(
    client: httpx.AsyncClient, market: Market, budget: str | None, *, limit: str | None = "100"
) -> uuid.UUID:
    me = (await client.get("/api/v1/me", headers=market.headers["purchaser"])).json()
    user_id = uuid.UUID(me["id"])
    response = await client.patch(
        f"/api/v1/companies/{market.buyer.id}/members/{user_id}",
        json={"monthly_budget": budget, "spending_limit": limit},
        headers=market.headers["owner"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["monthly_budget"] == budget
    return user_id


async def test_the_monthly_budget_counts_the_months_placed_and_approved_orders(
    client: httpx.AsyncClient, db_session: AsyncSession, market: Market, gloves: Product
) -> None:
    await set_budget(client, market, "150.00")
    me = (await client.get("/api/v1/me", headers=market.headers["purchaser"])).json()
    assert [c["monthly_budget"] for c in me["companies"]] == ["150.00"]
    purchaser = market.headers["purchaser"]

    first = await order(client, purchaser, market.bolts, 200)  # 80.00, spent 80
    second = await order(client, purchaser, market.bolts, 150)  # 60.00, spent 140
    assert (first["status"], second["status"]) == ("placed", "placed")
    over = await order(client, purchaser, market.bolts, 50)  # 25.00: 165 > 150
    assert over["status"] == "pending_approval"
    # Waiting orders are not spent yet, nor are other members' orders: 140 + 10 = 150.
    await order(client, market.headers["owner"], market.bolts, 100)
    exact = await order(client, purchaser, market.bolts, 20)
    assert exact["status"] == "placed"

    # A cancelled order gives its amount back: 150 - 60 = 90.
    cancelled = await client.post(
        f"/api/v1/orders/{second['id']}/transitions",
        json={"action": "cancel"},
        headers=purchaser,
    )
    assert cancelled.json()["status"] == "cancelled"
    # A checkout across suppliers counts as a whole: 90 + 40 + 30 = 160 > 150.
    split = await checkout(client, purchaser, (market.bolts, 100), (gloves, 1))
    assert statuses(split) == [("30.00", "pending_approval"), ("40.00", "pending_approval")]
    # An approved order is spent: 90 + 25 = 115, and 115 + 40 > 150.
    approved = await client.post(
        f"/api/v1/orders/{over['id']}/transitions",
        json={"action": "approve"},
        headers=market.headers["owner"],
    )
    assert approved.json()["status"] == "placed"
    assert (await order(client, purchaser, market.bolts, 100))["status"] == "pending_approval"
    assert (await order(client, purchaser, market.bolts, 60))["status"] == "placed"  # 145

    # Last month's orders are last month's: moved there, 80.00 comes off (145 - 80 = 65).
    start, _ = month_of(datetime.now(UTC))
    await db_session.execute(
        text("UPDATE orders SET created_at = :at, placed_at = :at WHERE id = :id"),
        {"at": start - timedelta(seconds=1), "id": uuid.UUID(first["id"])},
    )
    assert (await order(client, purchaser, market.bolts, 200))["status"] == "placed"  # 145


async def test_without_a_budget_only_the_limit_counts(
    client: httpx.AsyncClient, market: Market
) -> None:
    await set_budget(client, market, "50.00")
    assert (await order(client, market.headers["purchaser"], market.bolts, 120))[
        "status"
    ] == "placed"  # 48.00
    assert (await order(client, market.headers["purchaser"], market.bolts, 10))[
        "status"
    ] == "pending_approval"  # 53.00 in the month
    await set_budget(client, market, None)
    assert (await order(client, market.headers["purchaser"], market.bolts, 200))[
        "status"
    ] == "placed"  # 80.00, within the limit


def test_the_month_is_the_calendar_month_in_utc() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    # New Year's night in Berlin is still December in UTC.
    berlin = timezone(timedelta(hours=1))
    assert month_of(datetime(2027, 1, 1, 0, 30, tzinfo=berlin))[0] == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    assert month_of(datetime(2026, 2, 1, tzinfo=UTC)) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )


async def test_concurrent_orders_cannot_all_slip_under_the_budget(
    live_client: httpx.AsyncClient, live_market: Market
) -> None:
    """Ten orders of 30.00 at once, and a checkout of 30.00 among them, against a budget
    of 100.00: each is judged after the ones before it committed, so exactly three fit."""
    await set_budget(live_client, live_market, "100.00")
    purchaser = live_market.headers["purchaser"]
    cart = await live_client.put(
        f"/api/v1/cart/lines/{live_market.bolts.id}", json={"quantity": "60"}, headers=purchaser
    )
    assert cart.status_code == 200
    responses = await asyncio.gather(
        live_client.post("/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=purchaser),
        *(
            live_client.post(
                "/api/v1/orders", json=order_body((live_market.bolts, 60)), headers=purchaser
            )
            for _ in range(9)
        ),
    )
    assert [response.status_code for response in responses] == [201] * 10
    placed = [responses[0].json()["orders"][0]] + [r.json() for r in responses[1:]]
    assert sorted(order["status"] for order in placed) == ["pending_approval"] * 7 + ["placed"] * 3
    assert all(order["total"] == "30.00" for order in placed)
