"""Direct orders: server-side prices, MOQ and pack sizes, stock, approvals, history."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.core.outbox import OutboxEvent
from marketplace.messaging.models import Thread
from marketplace.trade.models import Order
from tests.trade.conftest import Market, order_body


async def stock_of(session: AsyncSession, product: Product) -> Decimal:
    await session.refresh(product)
    return product.stock


async def order_count(session: AsyncSession) -> int:
    """Orders in this test's transaction (committed ones of other tests are older)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Order).where(Order.created_at >= func.now())
        )
        or 0
    )


async def test_order_is_priced_by_the_server_and_reserves_stock(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 120), (market.washers, 8), po_number="PO-77"),
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["number"].startswith("ORD-")
    assert order["status"] == "placed"
    assert order["supplier_id"] == str(market.supplier.id)
    assert [(line["sku"], line["unit_price"], line["line_total"]) for line in order["lines"]] == [
        ("BOLT-M8", "0.4000", "48.00"),
        ("WASHER-M8", "0.0125", "0.10"),
    ]
    assert order["total"] == "48.10"
    assert order["po_number"] == "PO-77"
    assert order["history"][0]["action"] == "place"
    assert await stock_of(db_session, market.bolts) == Decimal("880")
    assert await stock_of(db_session, market.washers) == Decimal("42")
    events = (
        (
            await db_session.execute(
                select(OutboxEvent.type).where(OutboxEvent.aggregate_id == order["id"])
            )
        )
        .scalars()
        .all()
    )
    assert events == ["order.placed"]


async def test_client_cannot_send_a_price(client: httpx.AsyncClient, market: Market) -> None:
    body = order_body((market.bolts, 10))
    body["lines"][0]["unit_price"] = "0.01"  # type: ignore[index]
    response = await client.post("/api/v1/orders", json=body, headers=market.headers["owner"])
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("5", "invalid-order-lines"),
        ("15", "invalid-order-lines"),
        ("0", "validation-failed"),
        ("-10", "validation-failed"),
    ],
)
async def test_bad_quantities_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession, quantity: str, code: str
) -> None:
    before = await order_count(db_session)
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, quantity)), headers=market.headers["owner"]
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith(code)
    assert await order_count(db_session) == before
    assert await stock_of(db_session, market.bolts) == Decimal("1000")


async def test_beyond_stock_is_409_naming_the_line_and_nothing_is_reserved(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 10), (market.washers, 51)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("insufficient-stock")
    assert [error["product_id"] for error in body["errors"]] == [str(market.washers.id)]
    assert await stock_of(db_session, market.bolts) == Decimal("1000")
    assert await stock_of(db_session, market.washers) == Decimal("50")


async def test_unknown_and_invisible_products_are_refused(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    market.bolts.status = "draft"
    await db_session.flush()
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 10)), headers=market.headers["owner"]
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("products-unavailable")


async def test_duplicate_lines_are_refused(client: httpx.AsyncClient, market: Market) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 10), (market.bolts, 20)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 422


async def test_direct_order_must_be_one_supplier(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 10), (market.nuts, 1)),
        headers=market.headers["owner"],
    )
    assert response.status_code == 422
    assert await order_count(db_session) == 0
    assert await stock_of(db_session, market.nuts) == Decimal("10")


@pytest.mark.parametrize(
    ("role", "status"), [("purchaser", 201), ("sales", 403), ("viewer", 403), ("supplier", 403)]
)
async def test_who_may_order(
    client: httpx.AsyncClient, market: Market, role: str, status: int
) -> None:
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 10)), headers=market.headers[role]
    )
    assert response.status_code == status


async def test_order_above_the_purchasers_limit_waits_for_approval(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 300)), headers=market.headers["purchaser"]
    )
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "pending_approval"
    assert await stock_of(db_session, market.bolts) == Decimal("700")  # reserved meanwhile

    denied = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "approve"},
        headers=market.headers["purchaser"],
    )
    assert denied.status_code == 403
    approved = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "approve"},
        headers=market.headers["admin"],
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "placed"


async def test_declining_releases_the_stock(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = (
        await client.post(
            "/api/v1/orders",
            json=order_body((market.bolts, 300)),
            headers=market.headers["purchaser"],
        )
    ).json()
    declined = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "decline", "reason": "over budget"},
        headers=market.headers["owner"],
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "cancelled"
    assert await stock_of(db_session, market.bolts) == Decimal("1000")


async def test_company_threshold_applies_to_purchasers_without_a_limit(
    client: httpx.AsyncClient, market: Market
) -> None:
    policy = await client.put(
        f"/api/v1/companies/{market.buyer.id}/purchasing-policy",
        json={"approval_threshold": "10.00"},
        headers=market.headers["owner"],
    )
    assert policy.status_code == 200
    response = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 30)), headers=market.headers["purchaser"]
    )
    assert response.json()["status"] == "pending_approval"
    owner = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 30)), headers=market.headers["owner"]
    )
    assert owner.json()["status"] == "placed"


async def test_other_companies_cannot_see_the_order(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = (
        await client.post(
            "/api/v1/orders", json=order_body((market.bolts, 10)), headers=market.headers["owner"]
        )
    ).json()
    assert (
        await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["supplier"])
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["other_supplier"])
    ).status_code == 404
    assert (await client.get(f"/api/v1/orders/{order['id']}")).status_code == 401
    listed = (await client.get("/api/v1/orders", headers=market.headers["other_supplier"])).json()
    assert listed["items"] == []


async def supplier_reads(
    client: httpx.AsyncClient, market: Market, order_id: str, side: str = "supplier"
) -> dict[str, tuple[int, str | None]]:
    """Status and problem type of every way a supplier could read or touch an order."""
    headers = market.headers[side]
    base = f"/api/v1/orders/{order_id}"
    responses = {
        "detail": await client.get(base, headers=headers),
        "history": await client.get(f"{base}/transitions", headers=headers),
        "payments": await client.get(f"{base}/payments", headers=headers),
        "invoice": await client.get(f"{base}/invoice.pdf", headers=headers),
        "confirm": await client.post(
            f"{base}/transitions", json={"action": "confirm"}, headers=headers
        ),
        "thread": await client.post(
            "/api/v1/threads",
            json={"subject_type": "order", "subject_id": order_id},
            headers=headers,
        ),
    }
    return {
        name: (
            response.status_code,
            response.json().get("type") if response.status_code >= 400 else None,
        )
        for name, response in responses.items()
    }


async def listed_ids(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> set[str]:
    page = await client.get("/api/v1/orders", params=params, headers=headers)
    assert page.status_code == 200, page.text
    return {item["id"] for item in page.json()["items"]}


async def test_the_supplier_cannot_see_an_order_until_the_buyer_approves_it(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = (
        await client.post(
            "/api/v1/orders",
            json=order_body((market.bolts, 300)),
            headers=market.headers["purchaser"],
        )
    ).json()
    assert order["status"] == "pending_approval"

    # Threads of this supplier's (other tests on this worker may commit their own).
    supplier_threads = (
        select(func.count()).select_from(Thread).where(Thread.supplier_id == market.supplier.id)
    )
    # Exactly as another tenant's order: 404 everywhere, absent from every list.
    unknown = await supplier_reads(client, market, order["id"], side="other_supplier")
    assert {status for status, _type in unknown.values()} == {404}
    assert await supplier_reads(client, market, order["id"]) == unknown
    supplier = market.headers["supplier"]
    for params in ({}, {"side": "selling"}, {"status": "pending_approval"}):
        assert order["id"] not in await listed_ids(client, supplier, **params)
    assert await db_session.scalar(supplier_threads) == 0
    # The buyer cannot open a conversation with the supplier about it yet either.
    early = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=market.headers["owner"],
    )
    assert early.status_code == 409
    assert early.json()["type"] == "urn:marketplace:problem:order-awaiting-approval"
    assert await db_session.scalar(supplier_threads) == 0

    approved = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "approve", "reason": "ok for site Altona"},
        headers=market.headers["admin"],
    )
    assert approved.status_code == 200, approved.text

    assert order["id"] in await listed_ids(client, supplier, side="selling")
    seen = await client.get(f"/api/v1/orders/{order['id']}", headers=supplier)
    assert seen.status_code == 200
    assert seen.json()["status"] == "placed"
    # The supplier's history starts when the order reached it, without the buyer's note.
    assert [
        (step["action"], step["from_status"], step["to_status"], step["reason"])
        for step in seen.json()["history"]
    ] == [("approve", "pending_approval", "placed", None)]
    assert "Altona" not in seen.text
    history = await client.get(f"/api/v1/orders/{order['id']}/transitions", headers=supplier)
    assert "Altona" not in history.text
    confirmed = await client.post(
        f"/api/v1/orders/{order['id']}/transitions", json={"action": "confirm"}, headers=supplier
    )
    assert confirmed.status_code == 200, confirmed.text
    assert "Altona" not in confirmed.text
    # The buyer's own people see all of it.
    own = (
        await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["purchaser"])
    ).json()
    assert [(step["action"], step["reason"]) for step in own["history"]] == [
        ("place", None),
        ("approve", "ok for site Altona"),
        ("confirm", None),
    ]
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=supplier,
    )
    assert thread.status_code == 201, thread.text


@pytest.mark.parametrize(("action", "role"), [("decline", "owner"), ("cancel", "purchaser")])
async def test_an_order_declined_or_cancelled_before_approval_never_reaches_the_supplier(
    client: httpx.AsyncClient, market: Market, action: str, role: str
) -> None:
    order = (
        await client.post(
            "/api/v1/orders",
            json=order_body((market.bolts, 300)),
            headers=market.headers["purchaser"],
        )
    ).json()
    closed = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": action, "reason": "over budget"},
        headers=market.headers[role],
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "cancelled"
    unknown = await supplier_reads(client, market, order["id"], side="other_supplier")
    assert await supplier_reads(client, market, order["id"]) == unknown
    for params in ({}, {"status": "cancelled"}):
        assert order["id"] not in await listed_ids(client, market.headers["supplier"], **params)
    assert order["id"] in await listed_ids(client, market.headers["owner"], status="cancelled")


async def test_order_lists_page_by_cursor(client: httpx.AsyncClient, market: Market) -> None:
    numbers = []
    for _ in range(5):
        numbers.append(
            (
                await client.post(
                    "/api/v1/orders",
                    json=order_body((market.bolts, 10)),
                    headers=market.headers["owner"],
                )
            ).json()["number"]
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/orders", params=params, headers=market.headers["owner"])
        ).json()
        seen.extend(item["number"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(numbers)
    assert len(seen) == len(set(seen)) == 5


async def test_placed_order_answers_exactly_what_is_stored(
    live_client: httpx.AsyncClient, live_market: Market
) -> None:
    """The answer to placing is built from the rows just written, not read back: it must
    equal the order read from the database afterwards, NUMERIC scales included."""
    placed = await live_client.post(
        "/api/v1/orders",
        json=order_body((live_market.bolts, 120), (live_market.washers, "8.0")),
        headers=live_market.headers["owner"],
    )
    assert placed.status_code == 201, placed.text
    assert [line["quantity"] for line in placed.json()["lines"]] == ["120.000", "8.000"]
    read = await live_client.get(
        f"/api/v1/orders/{placed.json()['id']}", headers=live_market.headers["owner"]
    )
    assert read.status_code == 200, read.text
    assert placed.json() == read.json()
