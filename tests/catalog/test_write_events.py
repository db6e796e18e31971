"""A supplier's writes to its catalog, price lists and buyer groups are events for that
supplier alone, written in the transaction of the change: exactly one per write that
changes something, none for a write that changes nothing or is refused."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from tests.catalog.conftest import Catalog, assert_problem, create_product, product_body


async def outbox_mark(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.seq), 0))) or 0)


async def events_since(session: AsyncSession, mark: int) -> list[OutboxEvent]:
    rows = await session.execute(
        select(OutboxEvent).where(OutboxEvent.seq > mark).order_by(OutboxEvent.seq)
    )
    return list(rows.scalars())


async def only_event(session: AsyncSession, mark: int) -> OutboxEvent:
    recorded = await events_since(session, mark)
    assert len(recorded) == 1, [event.type for event in recorded]
    return recorded[0]


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, response.text
    body: dict[str, Any] = response.json() if response.content else {}
    return body


# --- products ------------------------------------------------------------------------


async def test_creating_a_product_is_one_event_for_its_supplier(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    mark = await outbox_mark(db_session)
    product = await create_product(client, catalog.headers["sales"], sku="EVT-NEW", name="Nut M8")
    event = await only_event(db_session, mark)
    assert event.type == "product.created"
    assert event.aggregate_type == "product"
    assert event.aggregate_id == uuid.UUID(product["id"])
    assert list(event.company_ids) == [catalog.supplier_id]
    assert event.actor_user_id is not None
    assert event.actor_is_staff is False
    assert event.payload == {
        "product_id": product["id"],
        "supplier_id": str(catalog.supplier_id),
        "sku": "EVT-NEW",
        "name": "Nut M8",
        "status": "active",
        "currency": "EUR",
        "parent_id": None,
    }


async def test_an_api_key_write_names_the_key(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    mark = await outbox_mark(db_session)
    await create_product(client, catalog.headers["api_key"])
    event = await only_event(db_session, mark)
    assert event.actor_api_key_id is not None
    assert event.actor_user_id is None


async def test_an_update_carries_each_changed_field_before_and_after(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner, sku="EVT-UPD")
    mark = await outbox_mark(db_session)
    ok(
        await client.patch(
            f"/api/v1/products/{product['id']}",
            json={
                "name": "Hex bolt M8x50",
                "stock": "500",
                "moq": "100",  # as stored: not a change
                "price_tiers": [{"min_qty": "100", "unit_price": "0.30"}],
            },
            headers=owner,
        )
    )
    event = await only_event(db_session, mark)
    assert event.type == "product.updated"
    assert list(event.company_ids) == [catalog.supplier_id]
    assert event.payload["sku"] == "EVT-UPD"
    assert event.payload["changes"] == {
        "name": {"before": "Hex bolt M8x40", "after": "Hex bolt M8x50"},
        "stock": {"before": "12000.000", "after": "500.000"},
        "price_tiers": {
            "before": [
                {"min_qty": "100.000", "unit_price": "0.2500"},
                {"min_qty": "1000.000", "unit_price": "0.1900"},
            ],
            "after": [{"min_qty": "100.000", "unit_price": "0.3000"}],
        },
    }


async def test_an_update_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    body = product_body(sku="EVT-SAME")
    product = await create_product(client, owner, **body)
    mark = await outbox_mark(db_session)
    same = {key: body[key] for key in ("name", "stock", "price_tiers", "attributes", "status")}
    ok(await client.patch(f"/api/v1/products/{product['id']}", json=same, headers=owner))
    assert await events_since(db_session, mark) == []


async def test_archiving_is_one_event_and_archiving_again_none(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner, sku="EVT-ARC")
    mark = await outbox_mark(db_session)
    for _ in range(2):
        response = await client.delete(f"/api/v1/products/{product['id']}", headers=owner)
        assert response.status_code == 204, response.text
    event = await only_event(db_session, mark)
    assert event.type == "product.archived"
    assert list(event.company_ids) == [catalog.supplier_id]
    assert event.payload["previous_status"] == "active"
    assert event.payload["status"] == "archived"


# --- refused writes record nothing ---------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    status: int
    send: Callable[[httpx.AsyncClient, Catalog, dict[str, Any]], Awaitable[httpx.Response]]


async def _setup(client: httpx.AsyncClient, catalog: Catalog) -> dict[str, Any]:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner, sku="EVT-TAKEN")
    price_list = ok(await client.post("/api/v1/price-lists", json={"name": "Gold"}, headers=owner))
    ok(await client.post("/api/v1/price-lists", json={"name": "Silver"}, headers=owner))
    group = ok(await client.post("/api/v1/buyer-groups", json={"name": "VIP"}, headers=owner))
    ok(await client.post("/api/v1/buyer-groups", json={"name": "Retail"}, headers=owner))
    return {"product": product["id"], "list": price_list["id"], "group": group["id"]}


REFUSED = [
    Refused(
        "product with a taken sku",
        409,
        lambda c, cat, ids: c.post(
            "/api/v1/products", json=product_body(sku="EVT-TAKEN"), headers=cat.headers["owner"]
        ),
    ),
    Refused(
        "product breaking the moq rule",
        422,
        lambda c, cat, ids: c.post(
            "/api/v1/products",
            json=product_body(moq="120", order_multiple="50"),
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "update breaking the tier rule",
        422,
        lambda c, cat, ids: c.patch(
            f"/api/v1/products/{ids['product']}",
            json={"price_tiers": [{"min_qty": "500", "unit_price": "0.2"}]},
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "update by a viewer",
        403,
        lambda c, cat, ids: c.patch(
            f"/api/v1/products/{ids['product']}", json={"name": "x"}, headers=cat.headers["viewer"]
        ),
    ),
    Refused(
        "archive by another supplier",
        404,
        lambda c, cat, ids: c.delete(
            f"/api/v1/products/{ids['product']}", headers=cat.headers["outsider"]
        ),
    ),
    Refused(
        "price list renamed to a taken name",
        409,
        lambda c, cat, ids: c.patch(
            f"/api/v1/price-lists/{ids['list']}",
            json={"name": "Silver"},
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "price list tiers out of order",
        422,
        lambda c, cat, ids: c.put(
            f"/api/v1/price-lists/{ids['list']}/products/{ids['product']}",
            json={
                "tiers": [
                    {"min_qty": "10", "unit_price": "1"},
                    {"min_qty": "5", "unit_price": "1"},
                ]
            },
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "price list assigned to a supplier",
        404,
        lambda c, cat, ids: c.post(
            f"/api/v1/price-lists/{ids['list']}/assignments",
            json={"buyer_id": str(cat.other_supplier_id)},
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "buyer group renamed to a taken name",
        409,
        lambda c, cat, ids: c.patch(
            f"/api/v1/buyer-groups/{ids['group']}",
            json={"name": "Retail"},
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "buyer group member removed who is none",
        404,
        lambda c, cat, ids: c.delete(
            f"/api/v1/buyer-groups/{ids['group']}/members/{cat.buyer_id}",
            headers=cat.headers["owner"],
        ),
    ),
    Refused(
        "buyer group deleted by another supplier",
        404,
        lambda c, cat, ids: c.delete(
            f"/api/v1/buyer-groups/{ids['group']}", headers=cat.headers["outsider"]
        ),
    ),
]


@pytest.mark.parametrize("refused", REFUSED, ids=lambda refused: refused.name)
async def test_a_refused_write_records_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, refused: Refused
) -> None:
    ids = await _setup(client, catalog)
    mark = await outbox_mark(db_session)
    assert_problem(await refused.send(client, catalog, ids), refused.status)
    assert await events_since(db_session, mark) == []


# --- price lists and buyer groups ------------------------------------------------------


async def test_each_price_list_change_is_one_event_for_the_supplier(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner, sku="EVT-PL")
    mark = await outbox_mark(db_session)
    price_list = ok(
        await client.post(
            "/api/v1/price-lists", json={"name": "Gold", "priority": 5}, headers=owner
        )
    )
    base = f"/api/v1/price-lists/{price_list['id']}"
    ok(await client.patch(base, json={"priority": 7, "name": "Gold"}, headers=owner))
    ok(await client.patch(base, json={"priority": 7}, headers=owner))  # no change
    tiers_url = f"{base}/products/{product['id']}"
    tiers = {"tiers": [{"min_qty": "100", "unit_price": "0.20"}]}
    ok(await client.put(tiers_url, json=tiers, headers=owner))
    ok(await client.put(tiers_url, json=tiers, headers=owner))  # no change
    assignment = ok(
        await client.post(
            f"{base}/assignments", json={"buyer_id": str(catalog.buyer_id)}, headers=owner
        )
    )
    ok(await client.delete(f"{base}/assignments/{assignment['id']}", headers=owner))
    ok(await client.put(tiers_url, json={"tiers": []}, headers=owner))
    ok(await client.delete(base, headers=owner))

    recorded = await events_since(db_session, mark)
    assert [event.type for event in recorded] == [
        "price_list.created",
        "price_list.updated",
        "price_list.tiers_set",
        "price_list.assigned",
        "price_list.unassigned",
        "price_list.tiers_set",
        "price_list.deleted",
    ]
    assert {event.aggregate_id for event in recorded} == {uuid.UUID(price_list["id"])}
    assert all(list(event.company_ids) == [catalog.supplier_id] for event in recorded)
    created, updated, tiers_set, assigned, unassigned, taken_off, deleted = (
        event.payload for event in recorded
    )
    assert created["priority"] == 5
    assert created["is_active"] is True
    assert updated["changes"] == {"priority": {"before": 5, "after": 7}}
    assert tiers_set["product_id"] == product["id"]
    assert tiers_set["changes"] == {
        "tiers": {"before": [], "after": [{"min_qty": "100", "unit_price": "0.20"}]}
    }
    assert assigned["assignment_id"] == assignment["id"]
    assert assigned["buyer_id"] == str(catalog.buyer_id)
    assert assigned["group_id"] is None
    assert unassigned == assigned
    assert taken_off["changes"]["tiers"]["after"] == []
    assert taken_off["changes"]["tiers"]["before"] == [
        {"min_qty": "100.000", "unit_price": "0.2000"}
    ]
    assert deleted["name"] == "Gold"


async def test_each_buyer_group_change_is_one_event_for_the_supplier(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    mark = await outbox_mark(db_session)
    group = ok(await client.post("/api/v1/buyer-groups", json={"name": "VIP"}, headers=owner))
    base = f"/api/v1/buyer-groups/{group['id']}"
    ok(await client.patch(base, json={"name": "Key accounts"}, headers=owner))
    ok(await client.patch(base, json={"name": "Key accounts"}, headers=owner))  # no change
    member = {"buyer_id": str(catalog.buyer_id)}
    ok(await client.post(f"{base}/members", json=member, headers=owner))
    ok(await client.post(f"{base}/members", json=member, headers=owner))  # already one
    ok(await client.delete(f"{base}/members/{catalog.buyer_id}", headers=owner))
    ok(await client.delete(base, headers=owner))

    recorded = await events_since(db_session, mark)
    assert [event.type for event in recorded] == [
        "buyer_group.created",
        "buyer_group.updated",
        "buyer_group.member_added",
        "buyer_group.member_removed",
        "buyer_group.deleted",
    ]
    assert {event.aggregate_id for event in recorded} == {uuid.UUID(group["id"])}
    assert all(list(event.company_ids) == [catalog.supplier_id] for event in recorded)
    assert recorded[1].payload["changes"] == {"name": {"before": "VIP", "after": "Key accounts"}}
    assert recorded[2].payload["buyer_id"] == str(catalog.buyer_id)
    assert recorded[3].payload["buyer_id"] == str(catalog.buyer_id)
    assert recorded[4].payload["name"] == "Key accounts"
