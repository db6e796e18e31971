"""RFQs: three suppliers quote, the buyer compares and awards line by line, and the
award becomes one order per awarded supplier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.trade.models import Quote, Rfq
from marketplace.trade.rfqs.service import expire_rfqs_and_quotes
from tests.factories import (
    add_member,
    bearer_headers,
    make_company,
    make_product,
    make_user,
    platform_of,
)
from tests.trade.conftest import ADDRESS, Market
from tests.trade.test_orders import stock_of


def future(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
async def third(app: FastAPI, db_session: AsyncSession, market: Market) -> dict[str, Any]:
    supplier = await make_company(
        db_session, name="Third Steel", kind="supplier", verification_status="verified"
    )
    user = await make_user(db_session)
    await add_member(db_session, supplier, user, "sales")
    market.headers["third"] = await bearer_headers(app, db_session, user, supplier)
    return {"company": supplier}


async def open_rfq(client: httpx.AsyncClient, market: Market, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Fasteners for plant 2",
        "items": [
            {
                "product_id": str(market.bolts.id),
                "quantity": "1000",
                "unit": "piece",
                "target_unit_price": "0.35",
            },
            {
                "description": "Custom brackets, galvanised, drawing B-12",
                "quantity": "200",
                "unit": "piece",
            },
        ],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
        **overrides,
    }
    created = await client.post("/api/v1/rfqs", json=body, headers=market.headers["purchaser"])
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/rfqs/{created.json()['id']}/publish", headers=market.headers["purchaser"]
    )
    assert published.status_code == 200, published.text
    result: dict[str, Any] = published.json()
    return result


async def quote(
    client: httpx.AsyncClient,
    market: Market,
    rfq: dict[str, Any],
    who: str,
    prices: list[str],
    lead: int = 5,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/quotes",
        json={
            "items": [
                {"rfq_item_id": item["id"], "unit_price": price}
                for item, price in zip(rfq["items"], prices, strict=True)
            ],
            "valid_until": future(14),
            "lead_time_days": lead,
            "payment_terms": "net_60",
        },
        headers=market.headers[who],
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_full_rfq_flow_with_a_split_award(
    client: httpx.AsyncClient, market: Market, third: dict[str, Any], db_session: AsyncSession
) -> None:
    rfq = await open_rfq(client, market)
    q_supplier = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"], lead=10)
    q_other = await quote(client, market, rfq, "other_supplier", ["0.3300", "3.10"], lead=4)
    q_third = await quote(client, market, rfq, "third", ["0.3100", "3.50"], lead=2)

    comparison = (
        await client.get(
            f"/api/v1/rfqs/{rfq['id']}/comparison", headers=market.headers["purchaser"]
        )
    ).json()
    bolts, brackets = comparison["items"]
    assert [offer["unit_price"] for offer in bolts["offers"]] == ["0.3000", "0.3100", "0.3300"]
    assert [offer["is_best"] for offer in bolts["offers"]] == [True, False, False]
    assert brackets["offers"][0]["supplier_id"] == str(market.other_supplier.id)
    assert len(comparison["quotes"]) == 3

    awarded = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award",
        json={
            "lines": [
                {"rfq_item_id": bolts["rfq_item_id"], "quote_id": q_supplier["id"]},
                {"rfq_item_id": brackets["rfq_item_id"], "quote_id": q_other["id"]},
            ],
            "shipping_address": ADDRESS,
        },
        headers=market.headers["owner"],
    )
    assert awarded.status_code == 201, awarded.text
    result = awarded.json()
    assert result["rfq"]["status"] == "awarded"
    assert len(result["order_ids"]) == 2
    orders = [
        (await client.get(f"/api/v1/orders/{order_id}", headers=market.headers["owner"])).json()
        for order_id in result["order_ids"]
    ]
    by_supplier = {order["supplier_id"]: order for order in orders}
    bolts_order = by_supplier[str(market.supplier.id)]
    assert bolts_order["source"] == "rfq"
    assert bolts_order["payment_terms"] == "net_60"
    assert [(line["unit_price"], line["line_total"]) for line in bolts_order["lines"]] == [
        ("0.3000", "300.00")
    ]
    brackets_order = by_supplier[str(market.other_supplier.id)]
    assert brackets_order["lines"][0]["name"].startswith("Custom brackets")
    assert brackets_order["lines"][0]["product_id"] is None
    # The catalog line of the product's own supplier reserved its stock.
    assert await stock_of(db_session, market.bolts) == Decimal("0")

    statuses = {q.id: q.status for q in (await db_session.execute(select(Quote))).scalars()}
    assert statuses[uuid.UUID(q_supplier["id"])] == "accepted"
    assert statuses[uuid.UUID(q_other["id"])] == "accepted"
    assert statuses[uuid.UUID(q_third["id"])] == "rejected"


async def test_suppliers_never_see_each_others_quotes(
    client: httpx.AsyncClient, market: Market, third: dict[str, Any]
) -> None:
    rfq = await open_rfq(client, market)
    await quote(client, market, rfq, "supplier", ["0.30", "4.00"])
    await quote(client, market, rfq, "other_supplier", ["0.33", "3.10"])
    mine = (
        await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=market.headers["supplier"])
    ).json()
    assert [q["supplier_id"] for q in mine] == [str(market.supplier.id)]
    assert "3.10" not in str(mine)
    buyer_view = (
        await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=market.headers["purchaser"])
    ).json()
    assert len(buyer_view) == 2
    assert (
        await client.get(f"/api/v1/rfqs/{rfq['id']}/comparison", headers=market.headers["supplier"])
    ).status_code == 404


async def test_revising_keeps_one_live_quote(client: httpx.AsyncClient, market: Market) -> None:
    rfq = await open_rfq(client, market)
    first = await quote(client, market, rfq, "supplier", ["0.30", "4.00"])
    second = await quote(client, market, rfq, "supplier", ["0.29", "3.90"])
    assert second["id"] == first["id"]
    assert second["revision"] == 2
    listed = (
        await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=market.headers["purchaser"])
    ).json()
    assert [q["revision"] for q in listed] == [2]


async def test_invited_only_rfq_is_hidden_from_others(
    client: httpx.AsyncClient, market: Market, third: dict[str, Any]
) -> None:
    rfq = await open_rfq(
        client, market, visibility="invited", invited_supplier_ids=[str(market.supplier.id)]
    )
    assert (
        await client.get(f"/api/v1/rfqs/{rfq['id']}", headers=market.headers["supplier"])
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/rfqs/{rfq['id']}", headers=market.headers["third"])
    ).status_code == 404
    listed = (
        await client.get(
            "/api/v1/rfqs", params={"role": "supplier"}, headers=market.headers["third"]
        )
    ).json()
    assert rfq["id"] not in [item["id"] for item in listed["items"]]
    refused = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/quotes",
        json={
            "items": [{"rfq_item_id": rfq["items"][0]["id"], "unit_price": "0.1"}],
            "valid_until": future(),
            "lead_time_days": 1,
        },
        headers=market.headers["third"],
    )
    assert refused.status_code == 404


async def test_expired_quotes_and_closed_rfqs_cannot_be_awarded(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    rfq = await open_rfq(client, market)
    offer = await quote(client, market, rfq, "supplier", ["0.30", "4.00"])
    await db_session.execute(
        update(Quote).values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    body = {
        "lines": [{"rfq_item_id": rfq["items"][0]["id"], "quote_id": offer["id"]}],
        "shipping_address": ADDRESS,
    }
    expired = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award", json=body, headers=market.headers["owner"]
    )
    assert expired.status_code == 409
    cancelled = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/cancel", headers=market.headers["owner"]
    )
    assert cancelled.status_code == 200
    closed = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award", json=body, headers=market.headers["owner"]
    )
    assert closed.status_code == 409
    assert closed.json()["type"].endswith("rfq-not-open")


async def test_deadline_job_expires_rfqs_without_live_quotes(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    quiet = await open_rfq(client, market)
    busy = await open_rfq(client, market)
    await quote(client, market, busy, "supplier", ["0.30", "4.00"])
    await db_session.execute(update(Rfq).values(deadline=datetime.now(UTC) - timedelta(minutes=1)))
    await expire_rfqs_and_quotes(db_session, platform_of(app))
    statuses = {str(r.id): r.status for r in (await db_session.execute(select(Rfq))).scalars()}
    assert statuses[quiet["id"]] == "expired"
    assert statuses[busy["id"]] == "open"  # quoted: the buyer may still award
    late = await client.post(
        f"/api/v1/rfqs/{busy['id']}/quotes",
        json={
            "items": [{"rfq_item_id": busy["items"][0]["id"], "unit_price": "0.2"}],
            "valid_until": future(),
            "lead_time_days": 1,
        },
        headers=market.headers["other_supplier"],
    )
    assert late.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {
            "title": "",
            "items": [{"description": "x", "quantity": "1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
        },
        {
            "title": "t",
            "items": [],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
        },
        {
            "title": "t",
            "items": [{"quantity": "1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
        },
        {
            "title": "t",
            "items": [{"description": "x", "quantity": "-1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
        },
        {
            "title": "t",
            "items": [{"description": "x", "quantity": "1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": "2001-01-01T00:00:00Z",
        },
        {
            "title": "t",
            "items": [{"description": "x", "quantity": "1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
            "visibility": "invited",
        },
        {
            "title": "t",
            "items": [{"description": "x", "quantity": "1"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
            "status": "awarded",
        },
    ],
)
async def test_bad_rfqs_are_422(
    client: httpx.AsyncClient, market: Market, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/rfqs", json=body, headers=market.headers["purchaser"])
    assert response.status_code == 422


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("sales", 403), ("supplier", 403)])
async def test_who_may_create_rfqs(
    client: httpx.AsyncClient, market: Market, who: str, status: int
) -> None:
    body = {
        "title": "t",
        "items": [{"description": "x", "quantity": "1"}],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
    }
    response = await client.post("/api/v1/rfqs", json=body, headers=market.headers[who])
    assert response.status_code == status


@pytest.mark.parametrize("hidden", ["unknown", "draft", "archived", "blocked"])
async def test_an_rfq_item_naming_a_product_the_buyer_cannot_see_is_refused_like_an_unknown_one(
    client: httpx.AsyncClient, db_session: AsyncSession, market: Market, hidden: str
) -> None:
    """The same answer for an id that does not exist and for another supplier's product
    that is not public, so that the answer never tells which ids exist."""
    if hidden == "unknown":
        product_id = uuid.uuid4()
    else:
        product = await make_product(
            db_session,
            supplier=market.other_supplier,
            sku=f"HIDDEN-{hidden}",
            status="active" if hidden == "blocked" else hidden,
            is_blocked=hidden == "blocked",
        )
        product_id = product.id
    body = {
        "title": "Probe",
        "items": [
            {"description": "Anything", "quantity": "1", "unit": "piece"},
            {"product_id": str(product_id), "quantity": "5", "unit": "piece"},
        ],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
    }
    rfqs_before = await db_session.scalar(select(func.count()).select_from(Rfq))
    response = await client.post("/api/v1/rfqs", json=body, headers=market.headers["purchaser"])
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:marketplace:problem:products-unavailable"
    assert problem["errors"] == [
        {
            "loc": ["body", "items", "1", "product_id"],
            "msg": "unknown product, or not available to order",
            "type": "unavailable",
        }
    ]
    assert await db_session.scalar(select(func.count()).select_from(Rfq)) == rfqs_before
