"""Cart and split checkout; the state machine; idempotent retries."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_price_list
from tests.trade.conftest import ADDRESS, Market, order_body
from tests.trade.test_orders import order_count, stock_of


async def fill_cart(
    client: httpx.AsyncClient, market: Market, role: str = "owner"
) -> dict[str, object]:
    for product, quantity in ((market.bolts, "100"), (market.washers, "4"), (market.nuts, "3")):
        response = await client.put(
            f"/api/v1/cart/lines/{product.id}",
            json={"quantity": quantity},
            headers=market.headers[role],
        )
        assert response.status_code == 200, response.text
    cart: dict[str, object] = response.json()
    return cart


async def test_cart_shows_server_prices_and_subtotals_per_supplier(
    client: httpx.AsyncClient, market: Market
) -> None:
    cart = await fill_cart(client, market)
    lines = {line["sku"]: line for line in cart["lines"]}  # type: ignore[attr-defined]
    assert lines["BOLT-M8"]["unit_price"] == "0.4000"
    assert lines["BOLT-M8"]["line_total"] == "40.00"
    subtotals = {item["supplier_id"]: item["subtotal"] for item in cart["subtotals"]}  # type: ignore[attr-defined]
    assert subtotals == {str(market.supplier.id): "40.05", str(market.other_supplier.id): "0.60"}


async def test_cart_refuses_quantities_off_moq_or_pack(
    client: httpx.AsyncClient, market: Market
) -> None:
    response = await client.put(
        f"/api/v1/cart/lines/{market.bolts.id}",
        json={"quantity": "15"},
        headers=market.headers["owner"],
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("quantity-not-multiple")


async def test_checkout_splits_into_one_order_per_supplier(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await fill_cart(client, market)
    response = await client.post(
        "/api/v1/checkout",
        json={"shipping_address": ADDRESS, "payment_terms": "net_30"},
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    orders = response.json()["orders"]
    assert sorted(order["supplier_id"] for order in orders) == sorted(
        [str(market.supplier.id), str(market.other_supplier.id)]
    )
    assert {order["payment_terms"] for order in orders} == {"net_30"}
    assert all(order["due_date"] for order in orders)
    cart = (await client.get("/api/v1/cart", headers=market.headers["owner"])).json()
    assert cart["lines"] == []
    assert await stock_of(db_session, market.nuts) == Decimal("7")


async def test_stale_cart_price_is_409_with_the_new_price_and_not_charged(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await fill_cart(client, market)
    await make_price_list(
        db_session,
        supplier=market.supplier,
        prices={market.bolts: ((10, "0.4500"),)},
        buyers=[market.buyer],
    )
    response = await client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=market.headers["owner"]
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("price-changed")
    assert body["errors"][0]["unit_price"] == "0.4500"
    assert await order_count(db_session) == 0
    # Looking at the cart shows (and accepts) the new price; then checkout goes through.
    cart = (await client.get("/api/v1/cart", headers=market.headers["owner"])).json()
    assert {line["sku"]: line["unit_price"] for line in cart["lines"]}["BOLT-M8"] == "0.4500"
    again = await client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=market.headers["owner"]
    )
    assert again.status_code == 201


async def test_checkout_is_all_or_nothing_when_one_supplier_lacks_stock(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await fill_cart(client, market)
    market.nuts.stock = Decimal("1")
    await db_session.flush()
    response = await client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=market.headers["owner"]
    )
    assert response.status_code == 409
    assert await order_count(db_session) == 0
    assert await stock_of(db_session, market.bolts) == Decimal("1000")
    assert (
        len((await client.get("/api/v1/cart", headers=market.headers["owner"])).json()["lines"])
        == 3
    )


async def test_empty_cart_checkout_is_422(client: httpx.AsyncClient, market: Market) -> None:
    response = await client.post(
        "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=market.headers["owner"]
    )
    assert response.status_code == 422


async def test_mixed_currencies_in_one_order_are_refused(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    market.washers.currency = "USD"
    await db_session.flush()
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 10), (market.washers, 1)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("mixed-currencies")
    assert await stock_of(db_session, market.bolts) == Decimal("1000")


async def place(client: httpx.AsyncClient, market: Market, quantity: int = 10) -> dict[str, object]:
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, quantity)), headers=market.headers["owner"]
    )
    assert response.status_code == 201
    order: dict[str, object] = response.json()
    return order


async def move(
    client: httpx.AsyncClient, market: Market, order: dict[str, object], who: str, **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order['id']}/transitions", json=body, headers=market.headers[who]
    )


async def test_the_happy_path_through_every_status(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await place(client, market)
    steps = [
        ("supplier", {"action": "confirm"}, "confirmed"),
        ("supplier", {"action": "ship", "carrier": "DHL", "tracking_number": "JD0123"}, "shipped"),
        ("supplier", {"action": "deliver"}, "delivered"),
        ("owner", {"action": "complete"}, "completed"),
    ]
    for who, body, status in steps:
        response = await move(client, market, order, who, **body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    final = response.json()
    assert final["carrier"] == "DHL"
    assert final["tracking_number"] == "JD0123"
    assert [step["action"] for step in final["history"]] == [
        "place",
        "confirm",
        "ship",
        "deliver",
        "complete",
    ]
    assert all(step["actor_company_id"] for step in final["history"])


@pytest.mark.parametrize(
    ("prepare", "who", "body", "status"),
    [
        ([], "owner", {"action": "confirm"}, 403),  # not the buyer's action
        ([], "supplier", {"action": "complete"}, 403),  # not the supplier's
        ([], "supplier", {"action": "deliver"}, 409),  # skipping
        ([("supplier", {"action": "confirm"})], "supplier", {"action": "confirm"}, 409),  # twice
        (
            [
                ("supplier", {"action": "confirm"}),
                ("supplier", {"action": "ship", "carrier": "X", "tracking_number": "1"}),
            ],
            "owner",
            {"action": "cancel"},
            409,
        ),
        (
            [("supplier", {"action": "confirm"})],
            "supplier",
            {"action": "reject", "reason": "late"},
            409,
        ),
        ([("owner", {"action": "cancel"})], "supplier", {"action": "confirm"}, 409),
    ],
)
async def test_illegal_transitions_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    market: Market,
    prepare: list[tuple[str, dict[str, object]]],
    who: str,
    body: dict[str, object],
    status: int,
) -> None:
    """A side taking the other side's action is forbidden (403); an action the order's
    state does not allow is an illegal transition (409)."""
    order = await place(client, market)
    for step_who, step_body in prepare:
        assert (await move(client, market, order, step_who, **step_body)).status_code == 200
    before = (
        await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["owner"])
    ).json()
    response = await move(client, market, order, who, **body)
    assert response.status_code == status, response.text
    after = (
        await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["owner"])
    ).json()
    assert after["status"] == before["status"]
    assert len(after["history"]) == len(before["history"])


@pytest.mark.parametrize(
    ("who", "body"),
    [("owner", {"action": "cancel"}), ("supplier", {"action": "reject", "reason": "no capacity"})],
)
async def test_cancel_and_reject_release_stock_exactly_once(
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    body: dict[str, object],
) -> None:
    order = await place(client, market, quantity=100)
    assert await stock_of(db_session, market.bolts) == Decimal("900")
    assert (await move(client, market, order, who, **body)).status_code == 200
    assert await stock_of(db_session, market.bolts) == Decimal("1000")
    assert (await move(client, market, order, who, **body)).status_code == 409
    assert await stock_of(db_session, market.bolts) == Decimal("1000")


async def test_ship_needs_tracking_and_reject_needs_a_reason(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await place(client, market)
    assert (await move(client, market, order, "supplier", action="reject")).status_code == 422
    await move(client, market, order, "supplier", action="confirm")
    assert (await move(client, market, order, "supplier", action="ship")).status_code == 422


async def test_a_supplier_checking_out_is_refused_as_not_a_buyer_whatever_its_cart(
    client: httpx.AsyncClient, market: Market
) -> None:
    """Found by tests/security/test_owasp.py: the empty cart answered first (422)."""
    response = await client.post(
        "/api/v1/checkout",
        json={"shipping_address": ADDRESS},
        headers=market.headers["supplier"],
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:marketplace:problem:not-a-buyer"
