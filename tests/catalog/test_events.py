"""Staff actions on the catalog are events (for the audit log), in the same
transaction as the change."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from tests.catalog.conftest import Catalog, assert_problem, create_product


async def events_of(session: AsyncSession, aggregate_id: str) -> list[OutboxEvent]:
    rows = await session.execute(
        select(OutboxEvent)
        .where(OutboxEvent.aggregate_id == uuid.UUID(aggregate_id))
        .order_by(OutboxEvent.seq)
    )
    return list(rows.scalars())


async def test_blocking_and_unblocking_are_recorded_for_the_supplier(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"], sku="EVT-1")
    staff = catalog.headers["staff"]
    await client.post(
        f"/api/v1/admin/products/{product['id']}/block", json={"reason": "Fake"}, headers=staff
    )
    await client.post(f"/api/v1/admin/products/{product['id']}/unblock", headers=staff)
    recorded = await events_of(db_session, product["id"])
    assert [event.type for event in recorded] == [
        "product.created",
        "product.blocked",
        "product.unblocked",
    ]
    blocked = recorded[1]
    assert blocked.payload["reason"] == "Fake"
    assert blocked.payload["sku"] == "EVT-1"
    assert list(blocked.company_ids) == [catalog.supplier_id]
    assert blocked.actor_is_staff is True
    assert blocked.actor_user_id is not None


async def test_category_changes_are_staff_only_events(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    staff = catalog.headers["staff"]
    created = (
        await client.post(
            "/api/v1/admin/categories", json={"slug": "evt-cat", "name": "Evt"}, headers=staff
        )
    ).json()
    await client.patch("/api/v1/admin/categories/evt-cat", json={"parent": "tools"}, headers=staff)
    await client.delete("/api/v1/admin/categories/evt-cat", headers=staff)
    recorded = await events_of(db_session, created["id"])
    assert [event.type for event in recorded] == [
        "category.created",
        "category.updated",
        "category.deleted",
    ]
    assert recorded[1].payload["old_path"] == "evt-cat"
    assert recorded[1].payload["path"] == "tools/evt-cat"
    assert all(list(event.company_ids) == [] for event in recorded)


async def test_a_refused_block_records_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    response = await client.post(
        f"/api/v1/admin/products/{product['id']}/block",
        json={"reason": "x"},
        headers=catalog.headers["owner"],
    )
    assert_problem(response, 403)
    assert [event.type for event in await events_of(db_session, product["id"])] == [
        "product.created"
    ]
