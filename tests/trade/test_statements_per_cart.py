"""A cart change and a checkout send the statements they need and no more: the cart,
its lines and their products are read once, and the answers read nothing more."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.statements import statements_sent
from tests.trade.conftest import Market, order_body

ADDRESS = {
    "recipient": "Receiving",
    "line1": "Dock 4",
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
}


async def test_a_cart_change_reads_the_cart_and_its_products_once(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    owner = market.headers["owner"]
    # The connection's first use of some types is set up once (type introspection).
    placed = await client.post("/api/v1/orders", json=order_body((market.nuts, 1)), headers=owner)
    assert placed.status_code == 201, placed.text
    async with statements_sent(db_session) as made:
        first = await client.put(
            f"/api/v1/cart/lines/{market.bolts.id}", json={"quantity": "100"}, headers=owner
        )
    assert first.status_code == 200, first.text
    # The first line makes the cart in the statement that reads its (no) lines.
    assert len(made) == 4, made.statements
    assert first.json() == (await client.get("/api/v1/cart", headers=owner)).json()
    assert [line["quantity"] for line in first.json()["lines"]] == ["100.000"]
    async with statements_sent(db_session) as added:
        response = await client.put(
            f"/api/v1/cart/lines/{market.nuts.id}", json={"quantity": "2"}, headers=owner
        )
    assert response.status_code == 200, response.text
    # The session with the memberships, the cart (made or found) with its lines, their
    # products (the new one with them) with their price lists, the line written. No read
    # for the answer.
    assert len(added) == 4, added.statements
    assert added.count("FROM carts") == 1
    assert added.count("FROM products") == 1
    assert added.count("SELECT companies.id, companies.name") == 0
    assert added.transactions == 1
    # The answer is the cart as read afterwards: both lines, in the read's order, named.
    cart = (await client.get("/api/v1/cart", headers=owner)).json()
    assert response.json() == cart
    order = [line["product_id"] for line in cart["lines"]]
    assert sorted(order) == sorted([str(market.bolts.id), str(market.nuts.id)])

    async with statements_sent(db_session) as changed:
        response = await client.put(
            f"/api/v1/cart/lines/{market.bolts.id}", json={"quantity": "200"}, headers=owner
        )
    assert response.status_code == 200, response.text
    assert len(changed) == 4, changed.statements
    cart = (await client.get("/api/v1/cart", headers=owner)).json()
    assert response.json() == cart
    # A changed line keeps its place.
    assert [(line["product_id"], line["quantity"]) for line in cart["lines"]] == [
        (product_id, "200.000" if product_id == str(market.bolts.id) else "2.000")
        for product_id in order
    ]


async def test_a_two_supplier_checkout_reads_the_cart_once(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    owner = market.headers["owner"]
    # The year's first order makes the year's order-number sequence: not measured.
    placed = await client.post("/api/v1/orders", json=order_body((market.nuts, 1)), headers=owner)
    assert placed.status_code == 201, placed.text
    for product, quantity in ((market.bolts, "100"), (market.nuts, "2")):
        response = await client.put(
            f"/api/v1/cart/lines/{product.id}", json={"quantity": quantity}, headers=owner
        )
        assert response.status_code == 200, response.text
    async with statements_sent(db_session) as sent:
        response = await client.post(
            "/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=owner
        )
    assert response.status_code == 201, response.text
    assert {order["supplier_name"] for order in response.json()["orders"]} == {
        "Bolt Works",
        "Nut House",
    }
    # The session with the memberships, the cart's lines (locked, with the cart), their
    # products with their price lists; per supplier a number and the order with its
    # lines and event; per product its stock; the cart emptied.
    assert len(sent) == 3 + 2 * 2 + 2 + 1, sent.statements
    assert sent.count("SELECT cart_lines") == 1
    assert sent.count("DELETE FROM cart_lines") == 1
    assert sent.transactions == 1
