"""Responses that list the companies on the other side of a trade name them beside
their ids (`supplier_name`, `buyer_name`), looked up in one query whatever the count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tests.trade.conftest import Market, order_body
from tests.trade.test_rfqs import open_rfq, quote

SUPPLIER_NAMES = {"Bolt Works", "Nut House"}


@contextmanager
def counted_statements(db_session: AsyncSession) -> Iterator[list[str]]:
    statements: list[str] = []
    connection = db_session.bind.sync_connection  # type: ignore[union-attr]

    def record(*arguments: Any) -> None:
        statements.append(arguments[2])

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


async def test_cart_lines_and_groups_name_their_supplier(
    client: httpx.AsyncClient, market: Market
) -> None:
    owner = market.headers["owner"]
    for product, quantity in ((market.bolts, "100"), (market.nuts, "2")):
        response = await client.put(
            f"/api/v1/cart/lines/{product.id}", json={"quantity": quantity}, headers=owner
        )
        assert response.status_code == 200, response.text
    cart = (await client.get("/api/v1/cart", headers=owner)).json()

    names = {str(market.supplier.id): "Bolt Works", str(market.other_supplier.id): "Nut House"}
    assert {(line["supplier_id"], line["supplier_name"]) for line in cart["lines"]} == set(
        names.items()
    )
    assert {(group["supplier_id"], group["supplier_name"]) for group in cart["subtotals"]} == set(
        names.items()
    )


async def test_orders_name_buyer_and_supplier_on_both_sides(
    client: httpx.AsyncClient, market: Market
) -> None:
    owner = market.headers["owner"]
    for product, quantity in ((market.bolts, 100), (market.nuts, 2)):
        placed = await client.post(
            "/api/v1/orders", json=order_body((product, quantity)), headers=owner
        )
        assert placed.status_code == 201, placed.text
        assert placed.json()["buyer_name"] == "Buyer GmbH"

    buyer_view = (await client.get("/api/v1/orders", headers=owner)).json()["items"]
    assert {order["supplier_name"] for order in buyer_view} == SUPPLIER_NAMES
    assert {order["buyer_name"] for order in buyer_view} == {"Buyer GmbH"}
    detail = (await client.get(f"/api/v1/orders/{buyer_view[0]['id']}", headers=owner)).json()
    assert detail["buyer_name"] == "Buyer GmbH"
    assert detail["supplier_name"] in SUPPLIER_NAMES

    supplier_view = (await client.get("/api/v1/orders", headers=market.headers["supplier"])).json()[
        "items"
    ]
    assert [(order["buyer_name"], order["supplier_name"]) for order in supplier_view] == [
        ("Buyer GmbH", "Bolt Works")
    ]


async def test_a_placed_orders_answer_is_the_order_as_read_later(
    client: httpx.AsyncClient, market: Market
) -> None:
    """The answer to placing an order is built from what placing it knew (names from the
    products' read and the acting company, no review yet): the same as reading it."""
    owner = market.headers["owner"]
    placed = await client.post("/api/v1/orders", json=order_body((market.nuts, 2)), headers=owner)
    assert placed.status_code == 201, placed.text
    assert placed.json()["supplier_name"] == "Nut House"
    assert placed.json()["reviewed"] is False
    read = await client.get(f"/api/v1/orders/{placed.json()['id']}", headers=owner)
    assert read.json() == placed.json()


async def test_order_list_looks_names_up_once_whatever_its_length(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    owner = market.headers["owner"]

    async def place(count: int) -> None:
        for _ in range(count):
            for product, quantity in ((market.bolts, 10), (market.nuts, 1)):
                response = await client.post(
                    "/api/v1/orders", json=order_body((product, quantity)), headers=owner
                )
                assert response.status_code == 201, response.text

    async def statements_listing() -> tuple[int, int]:
        with counted_statements(db_session) as statements:
            response = await client.get("/api/v1/orders?limit=100", headers=owner)
        assert response.status_code == 200
        return len(response.json()["items"]), len(statements)

    await place(1)
    few, few_statements = await statements_listing()
    await place(3)
    many, many_statements = await statements_listing()
    assert (few, many) == (2, 8)
    assert 0 < few_statements == many_statements


async def test_rfq_quotes_and_comparison_name_the_companies(
    client: httpx.AsyncClient, market: Market
) -> None:
    rfq = await open_rfq(client, market)
    assert rfq["buyer_name"] == "Buyer GmbH"
    submitted = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    assert submitted["supplier_name"] == "Bolt Works"
    await quote(client, market, rfq, "other_supplier", ["0.3300", "3.10"])
    buyer = market.headers["purchaser"]

    quotes = (await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=buyer)).json()
    assert {q["supplier_name"] for q in quotes} == SUPPLIER_NAMES
    comparison = (await client.get(f"/api/v1/rfqs/{rfq['id']}/comparison", headers=buyer)).json()
    assert {q["supplier_name"] for q in comparison["quotes"]} == SUPPLIER_NAMES
    for item in comparison["items"]:
        assert {offer["supplier_name"] for offer in item["offers"]} == SUPPLIER_NAMES
    offered = {
        offer["supplier_id"]: offer["supplier_name"]
        for item in comparison["items"]
        for offer in item["offers"]
    }
    assert offered == {
        str(market.supplier.id): "Bolt Works",
        str(market.other_supplier.id): "Nut House",
    }
    # A supplier sees the RFQ with its buyer's name.
    seen = await client.get(f"/api/v1/rfqs/{rfq['id']}", headers=market.headers["supplier"])
    assert seen.json()["buyer_name"] == "Buyer GmbH"
