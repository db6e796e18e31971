"""Invoice numbers are gapless and unique per supplier and year, whatever runs at once
and whatever fails: real concurrent requests on committed data, some of them rolled
back by a database error after their number was drawn.

Order numbers come from a sequence and may have gaps (a failed checkout consumes
them); invoice numbers come from a row-locked counter updated in the shipping
transaction, so a rollback gives its number back."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from marketplace.catalog.models import Product
from marketplace.companies.models import Company
from marketplace.trade.invoices import service as invoices
from tests.factories import (
    add_member,
    bearer_headers,
    make_company,
    make_product,
    make_user,
    platform_of,
)
from tests.trade.conftest import ADDRESS

# A real error raised by the database after shipping drew the invoice number: the
# transition row of a shipment whose tracking number starts with FAIL- is refused,
# and the whole transaction rolls back.
FAIL_MARKED_SHIPMENTS = """
CREATE FUNCTION test_fail_marked_shipment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.details ->> 'tracking_number' LIKE 'FAIL-%' THEN
        RAISE EXCEPTION 'injected failure after the invoice number was drawn';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_fail_marked_shipment BEFORE INSERT ON order_transitions
    FOR EACH ROW EXECUTE FUNCTION test_fail_marked_shipment();
"""
REMOVE_TRIGGER = """
DROP TRIGGER IF EXISTS test_fail_marked_shipment ON order_transitions;
DROP FUNCTION IF EXISTS test_fail_marked_shipment();
"""
BUYERS = 8
SUPPLIERS = 3


@dataclass
class Trade:
    suppliers: list[Company]
    supplier_headers: dict[uuid.UUID, dict[str, str]]
    products: list[Product]  # one per supplier, plenty of stock
    scarce: Product  # of the first supplier: enough for one checkout only
    buyer_headers: list[dict[str, str]]


@pytest.fixture
async def trade(live_app: FastAPI) -> AsyncIterator[Trade]:
    database = platform_of(live_app).database
    async with database.session_factory() as session:
        buyer = await make_company(session, name="Invoice Buyer AG", kind="buyer")
        suppliers, supplier_headers, products = [], {}, []
        for index in range(SUPPLIERS):
            supplier = await make_company(
                session,
                name=f"Numbering Supplier {index}",
                kind="supplier",
                verification_status="verified",
            )
            owner = await make_user(session, name=f"Supplier owner {index}")
            await add_member(session, supplier, owner, "owner")
            supplier_headers[supplier.id] = await bearer_headers(live_app, session, owner, supplier)
            suppliers.append(supplier)
            products.append(
                await make_product(
                    session,
                    supplier=supplier,
                    sku=f"INV-TEST-{index}",
                    tiers=((1, "2.5000"),),
                    stock=10_000,
                )
            )
        scarce = await make_product(
            session, supplier=suppliers[0], sku="INV-SCARCE", tiers=((1, "9.0000"),), stock=2
        )
        buyer_headers = []
        for index in range(BUYERS):
            user = await make_user(session, name=f"Buyer owner {index}")
            await add_member(session, buyer, user, "owner")
            buyer_headers.append(await bearer_headers(live_app, session, user, buyer))
        await session.commit()
    yield Trade(suppliers, supplier_headers, products, scarce, buyer_headers)
    async with database.session_factory() as session:
        # Out of the catalog: other tests search the whole catalog of this database.
        await session.execute(
            text("UPDATE products SET status = 'archived' WHERE supplier_id = ANY(:ids)"),
            {"ids": [supplier.id for supplier in suppliers]},
        )
        await session.commit()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.execute(REMOVE_TRIGGER)
        await connection.close()


async def transition(
    client: httpx.AsyncClient, order: dict[str, Any], headers: dict[str, str], body: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order['id']}/transitions", json=body, headers=headers
    )


def expected_numbers(count: int) -> list[str]:
    year = datetime.now(UTC).year
    return [f"INV-{year}-{number:06d}" for number in range(1, count + 1)]


async def test_concurrent_shipments_some_failing_number_invoices_without_gaps(
    live_client: httpx.AsyncClient, trade: Trade, database: asyncpg.Connection
) -> None:
    # Eight buyers fill their carts with one line per supplier; three of them also
    # want the scarce product, which only one checkout can get.
    wants_scarce = {0, 3, 6}
    for index, headers in enumerate(trade.buyer_headers):
        lines = [(product, "4") for product in trade.products]
        if index in wants_scarce:
            lines.append((trade.scarce, "2"))
        for product, quantity in lines:
            response = await live_client.put(
                f"/api/v1/cart/lines/{product.id}", json={"quantity": quantity}, headers=headers
            )
            assert response.status_code == 200, response.text

    checkouts = await asyncio.gather(
        *(
            live_client.post("/api/v1/checkout", json={"shipping_address": ADDRESS}, headers=h)
            for h in trade.buyer_headers
        )
    )
    statuses = sorted(response.status_code for response in checkouts)
    assert statuses == [201] * (BUYERS - 2) + [409, 409], [r.text for r in checkouts]
    orders = [order for r in checkouts if r.status_code == 201 for order in r.json()["orders"]]
    assert len(orders) == (BUYERS - 2) * SUPPLIERS
    assert all(order["invoice_number"] is None for order in orders)

    # Every supplier confirms its orders, all at once.
    confirmed = await asyncio.gather(
        *(
            transition(
                live_client,
                order,
                trade.supplier_headers[uuid.UUID(order["supplier_id"])],
                {"action": "confirm"},
            )
            for order in orders
        )
    )
    assert {response.status_code for response in confirmed} == {200}

    # Then ships them all at once; every fourth shipment (of every supplier) fails after
    # drawing its number.
    await database.execute(FAIL_MARKED_SHIPMENTS)
    failing = {order["id"] for index, order in enumerate(orders) if index % 4 == 1}

    def ship(order: dict[str, Any]) -> Any:
        tracking = ("FAIL-" if order["id"] in failing else "OK-") + order["number"]
        return transition(
            live_client,
            order,
            trade.supplier_headers[uuid.UUID(order["supplier_id"])],
            {"action": "ship", "carrier": "DHL", "tracking_number": tracking},
        )

    shipments = await asyncio.gather(*(ship(order) for order in orders))
    for order, response in zip(orders, shipments, strict=True):
        assert response.status_code == (500 if order["id"] in failing else 200), response.text

    async def invoices_by_supplier() -> dict[uuid.UUID, list[str]]:
        rows = await database.fetch(
            "SELECT supplier_id, invoice_number, status FROM orders "
            "WHERE supplier_id = ANY($1::uuid[]) AND invoice_number IS NOT NULL",
            [supplier.id for supplier in trade.suppliers],
        )
        numbers: dict[uuid.UUID, list[str]] = defaultdict(list)
        for row in rows:
            assert row["status"] == "shipped"
            numbers[row["supplier_id"]].append(row["invoice_number"])
        return {supplier: sorted(found) for supplier, found in numbers.items()}

    shipped_per_supplier: dict[uuid.UUID, int] = defaultdict(int)
    for order in orders:
        if order["id"] not in failing:
            shipped_per_supplier[uuid.UUID(order["supplier_id"])] += 1
    # Every supplier lost some shipments, and not all.
    assert all(0 < count < BUYERS - 2 for count in shipped_per_supplier.values())
    numbered = await invoices_by_supplier()
    assert set(numbered) == {supplier.id for supplier in trade.suppliers}
    for supplier in trade.suppliers:
        assert numbered[supplier.id] == expected_numbers(shipped_per_supplier[supplier.id])
    unshipped = await database.fetch(
        "SELECT status, invoice_number, invoiced_at FROM orders WHERE id = ANY($1::uuid[])",
        [uuid.UUID(order_id) for order_id in failing],
    )
    assert [tuple(row) for row in unshipped] == [("confirmed", None, None)] * len(failing)

    # Once the fault is gone, the failed shipments go through and take the next numbers.
    await database.execute(REMOVE_TRIGGER)
    retried = await asyncio.gather(*(ship(order) for order in orders if order["id"] in failing))
    assert {response.status_code for response in retried} == {200}
    numbered = await invoices_by_supplier()
    for supplier in trade.suppliers:
        assert numbered[supplier.id] == expected_numbers(BUYERS - 2)


async def test_numbers_given_back_by_rollbacks_are_reused(live_app: FastAPI, trade: Trade) -> None:
    """The numbering itself, without HTTP: many transactions over several suppliers at
    once, every third rolled back after drawing its number (while holding it)."""
    database = platform_of(live_app).database
    committed: dict[uuid.UUID, list[str]] = defaultdict(list)

    async def draw(index: int) -> None:
        supplier = trade.suppliers[index % SUPPLIERS]
        rolls_back = (index // SUPPLIERS) % 3 == 2
        async with database.session_factory() as session:
            number = await invoices.issue_number(
                session, supplier.id, datetime(2031, 5, 1, tzinfo=UTC)
            )
            await asyncio.sleep(0.01)  # others queue on the counter row meanwhile
            if rolls_back:
                await session.rollback()
                return
            await session.commit()
            committed[supplier.id].append(number)

    await asyncio.gather(*(draw(index) for index in range(36)))
    for supplier in trade.suppliers:
        assert sorted(committed[supplier.id]) == [
            f"INV-2031-{number:06d}" for number in range(1, 9)
        ]
    async with database.session_factory() as session:
        assert (
            await invoices.issue_number(
                session, trade.suppliers[0].id, datetime(2031, 12, 31, 23, 59, tzinfo=UTC)
            )
            == "INV-2031-000009"
        )
        assert (
            await invoices.issue_number(
                session, trade.suppliers[0].id, datetime(2032, 1, 1, tzinfo=UTC)
            )
            == "INV-2032-000001"
        )
        await session.rollback()
