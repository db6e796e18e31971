"""The log is written by the "audit" consumer from the event stream, once per event,
and nothing can change or remove what it wrote."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.consumers import AUDIT
from marketplace.audit.models import AuditEvent
from marketplace.consumers import build_registry
from marketplace.core.consumers import handle_once
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.settings import Settings
from tests.audit.conftest import AUDIT_PATH
from tests.conftest import client_for, make_settings, started_app
from tests.factories import bearer_headers, make_company, make_envelope, make_user, platform_of


def envelope(event_type: str = "company.updated", **payload: Any) -> EventEnvelope:
    company_id = uuid.uuid4()
    return make_envelope(
        event_type,
        [company_id],
        {"company_id": str(company_id), "fields": ["name"], **payload},
        aggregate_id=company_id,
        actor_user_id=uuid.uuid4(),
        request_id="req-delivery-0001",
        ip="203.0.113.7",
    )


async def rows_of(session: AsyncSession, event_id: uuid.UUID) -> list[AuditEvent]:
    result = await session.execute(select(AuditEvent).where(AuditEvent.event_id == event_id))
    return list(result.scalars())


def test_the_audit_consumer_is_registered_for_every_event() -> None:
    assert build_registry().get("audit") is AUDIT
    assert AUDIT.wants("order.placed")
    assert AUDIT.wants("some.future_event")


async def test_rows_cannot_be_updated_deleted_or_truncated(
    app: FastAPI, db_session: AsyncSession
) -> None:
    event = envelope()
    await AUDIT.handler(db_session, platform_of(app), event)
    statements = (
        "UPDATE audit_events SET action = 'company.nothing' WHERE event_id = :id",
        "UPDATE audit_events SET request_id = NULL",
        "DELETE FROM audit_events WHERE event_id = :id",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    )
    for statement in statements:
        savepoint = await db_session.begin_nested()
        with pytest.raises(DBAPIError, match="audit_events is append-only"):
            await db_session.execute(text(statement), {"id": event.id})
        await savepoint.rollback()
    [row] = await rows_of(db_session, event.id)
    assert (row.action, row.request_id, row.ip) == (
        "company.updated",
        "req-delivery-0001",
        "203.0.113.7",
    )


async def test_the_same_event_handled_twice_is_one_row(
    app: FastAPI, db_session: AsyncSession
) -> None:
    event = envelope()
    await AUDIT.handler(db_session, platform_of(app), event)
    await AUDIT.handler(db_session, platform_of(app), event)
    assert len(await rows_of(db_session, event.id)) == 1


async def test_a_message_is_recorded_without_its_text(
    app: FastAPI, db_session: AsyncSession
) -> None:
    event = envelope("message.posted", body="Our price is 4.10", thread_id=str(uuid.uuid4()))
    await AUDIT.handler(db_session, platform_of(app), event)
    [row] = await rows_of(db_session, event.id)
    assert row.action == "message.posted"
    assert "body" not in row.details
    assert row.details["thread_id"] == event.payload["thread_id"]


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    started = await Platform.start(make_settings(database_url=database_url))
    yield started
    await started.close()


async def test_a_redelivered_event_is_recorded_once(platform: Platform) -> None:
    """On committed data, as the relay and the worker deliver: the inbox skips the
    second delivery, and even without the inbox entry the row is not written twice."""
    event = envelope()
    assert await handle_once(platform, AUDIT, event) is True
    assert await handle_once(platform, AUDIT, event) is False
    async with platform.database.session_factory() as session, session.begin():
        await session.execute(
            text("DELETE FROM processed_events WHERE consumer = 'audit' AND event_id = :id"),
            {"id": event.id},
        )
    assert await handle_once(platform, AUDIT, event) is True
    async with platform.database.session_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.event_id == event.id)
        )
    assert count == 1


@pytest.fixture
def live_settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, outbox_poll_interval_seconds=0.05)


async def test_a_change_reaches_the_log_through_the_relay(live_settings: Settings) -> None:
    """The whole path on committed data: the request commits its change and event, the
    relay hands the event to the registered consumers, the log shows it."""
    async for app in started_app(live_settings):
        async with platform_of(app).database.session_factory() as session:
            owner = await make_user(session)
            company = await make_company(session, owner=owner)
            headers = await bearer_headers(app, session, owner)
            await session.commit()
        async with client_for(app) as client:
            created = await client.post(
                f"/api/v1/companies/{company.id}/api-keys",
                json={"name": "erp", "scopes": ["catalog:read"]},
                headers={**headers, "X-Request-ID": "req-audit-live-0001"},
            )
            assert created.status_code == 201, created.text
            entries = await wait_for_entries(client, headers)
        [entry] = entries
        assert entry["action"] == "api_key.created"
        assert entry["actor"] == {"user_id": str(owner.id), "api_key_id": None, "is_staff": False}
        assert entry["request_id"] == "req-audit-live-0001"
        assert entry["ip"] == "127.0.0.1"
        assert entry["target"] == {"type": "api_key", "id": created.json()["id"]}


async def wait_for_entries(
    client: httpx.AsyncClient, headers: dict[str, str], seconds: float = 15.0
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        response = await client.get(AUDIT_PATH, headers=headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if items or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.05)
