"""Events emitted by a request carry who caused them, the request id and the address."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from tests.factories import add_member, bearer_headers, make_company, make_user


async def test_api_key_creation_emits_an_attributed_event(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    company = await make_company(db_session, kind="supplier")
    owner = await make_user(db_session)
    await add_member(db_session, company, owner, "owner")
    headers = await bearer_headers(app, db_session, owner)
    response = await client.post(
        f"/api/v1/companies/{company.id}/api-keys",
        json={"name": "erp", "scopes": ["catalog:read"]},
        headers={**headers, "X-Request-ID": "req-event-ctx-0001"},
    )
    assert response.status_code == 201
    events = (
        (
            await db_session.execute(
                select(OutboxEvent).where(OutboxEvent.aggregate_id == response.json()["id"])
            )
        )
        .scalars()
        .all()
    )
    assert [event.type for event in events] == ["api_key.created"]
    event = events[0]
    assert event.actor_user_id == owner.id
    assert event.actor_api_key_id is None
    assert event.request_id == "req-event-ctx-0001"
    assert event.ip == "127.0.0.1"
    assert event.company_ids == [company.id]
    assert event.payload["name"] == "erp"
    assert "key" not in event.payload  # the secret never travels in an event


async def test_failed_request_emits_nothing(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    company = await make_company(db_session)
    viewer = await make_user(db_session)
    await add_member(db_session, company, viewer, "viewer")
    headers = await bearer_headers(app, db_session, viewer)
    before = len((await db_session.execute(select(OutboxEvent))).scalars().all())
    response = await client.post(
        f"/api/v1/companies/{company.id}/api-keys",
        json={"name": "erp", "scopes": ["catalog:read"]},
        headers=headers,
    )
    assert response.status_code == 403
    assert len((await db_session.execute(select(OutboxEvent))).scalars().all()) == before
