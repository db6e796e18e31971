"""No text the API accepts reaches the database with a NUL or another control character:
each is refused as a 422 problem naming the field (PostgreSQL cannot store NUL in text,
so before this it surfaced as a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.trade.conftest import ADDRESS, Market, build_market, order_body
from tests.trade.test_rfqs import future

NUL = "\u0000"


@pytest.fixture
async def market(app: FastAPI, db_session: AsyncSession) -> Market:
    return await build_market(app, db_session)


def assert_field_refused(response: httpx.Response, *loc: str | int) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:marketplace:problem:validation-failed"
    assert [error["loc"][-len(loc) :] for error in problem["errors"]] == [list(map(str, loc))]


async def place_order(client: httpx.AsyncClient, market: Market) -> dict[str, Any]:
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 10)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


def rfq_body(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Brackets",
        "items": [{"description": "Brackets B-12", "quantity": "200", "unit": "piece"}],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
        **overrides,
    }


async def published_rfq(client: httpx.AsyncClient, market: Market) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/rfqs", json=rfq_body(), headers=market.headers["purchaser"]
    )
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/rfqs/{created.json()['id']}/publish", headers=market.headers["purchaser"]
    )
    assert published.status_code == 200, published.text
    rfq: dict[str, Any] = published.json()
    return rfq


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/checkout"])
@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"po_number": f"PO{NUL}1"}, ("po_number",)),
        ({"notes": f"deliver{NUL}"}, ("notes",)),
        ({"shipping_address": {**ADDRESS, "postal_code": f"20{NUL}457"}}, ("postal_code",)),
    ],
)
async def test_nul_in_order_text_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    market: Market,
    path: str,
    change: dict[str, Any],
    loc: tuple[str, ...],
) -> None:
    headers = market.headers["owner"]
    if path == "/api/v1/checkout":
        line = await client.put(
            f"/api/v1/cart/lines/{market.bolts.id}", json={"quantity": "10"}, headers=headers
        )
        assert line.status_code == 200, line.text
        body: dict[str, Any] = {"shipping_address": ADDRESS, **change}
    else:
        body = order_body((market.bolts, 10), **change)
    assert_field_refused(await client.post(path, json=body, headers=headers), *loc)


async def test_nul_in_a_message_body_is_a_422(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await place_order(client, market)
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=market.headers["owner"],
    )
    assert thread.status_code in (200, 201), thread.text
    posted = await client.post(
        f"/api/v1/threads/{thread.json()['id']}/messages",
        json={"body": f"hello{NUL}"},
        headers=market.headers["owner"],
    )
    assert_field_refused(posted, "body")


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"description": f"brackets{NUL}"}, ("description",)),
        (
            {"items": [{"description": f"B-12{NUL}", "quantity": "200", "unit": "piece"}]},
            ("items", 0, "description"),
        ),
    ],
)
async def test_nul_in_rfq_text_is_a_422(
    client: httpx.AsyncClient, market: Market, change: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    response = await client.post(
        "/api/v1/rfqs", json=rfq_body(**change), headers=market.headers["purchaser"]
    )
    assert_field_refused(response, *loc)


@pytest.mark.parametrize("field", ["notes", "terms"])
async def test_nul_in_quote_text_is_a_422(
    client: httpx.AsyncClient, market: Market, field: str
) -> None:
    rfq = await published_rfq(client, market)
    response = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/quotes",
        json={
            "items": [{"rfq_item_id": rfq["items"][0]["id"], "unit_price": "1.50"}],
            "valid_until": future(),
            "lead_time_days": 5,
            field: f"see{NUL}",
        },
        headers=market.headers["supplier"],
    )
    assert_field_refused(response, field)


async def test_nul_in_a_transition_reason_is_a_422(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await place_order(client, market)
    response = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "reject", "reason": f"no{NUL}"},
        headers=market.headers["supplier"],
    )
    assert_field_refused(response, "reason")


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/api/v1/products?q=bolt%00", ("q",)),
        ("/api/v1/products?category=a%00b", ("category",)),
        ("/api/v1/products?attribute=size:M%008", ("attribute", 0)),
        ("/api/v1/products/facets?q=bolt%00", ("q",)),
        ("/api/v1/orders?status=placed%00", ("status",)),
        ("/api/v1/categories/a%00b", ("ref",)),
    ],
)
async def test_nul_in_a_query_or_path_parameter_is_a_422(
    client: httpx.AsyncClient, market: Market, url: str, loc: tuple[Any, ...]
) -> None:
    response = await client.get(url, headers=market.headers["owner"])
    assert_field_refused(response, *loc)


@pytest.mark.parametrize("value", ["foo", "PLACED", ""])
async def test_unknown_order_status_filter_is_a_422(
    client: httpx.AsyncClient, market: Market, value: str
) -> None:
    await place_order(client, market)
    response = await client.get(
        "/api/v1/orders", params={"status": value}, headers=market.headers["owner"]
    )
    assert_field_refused(response, "status")
