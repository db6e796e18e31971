"""Audit tests: changes are made through the API inside the test's transaction, then the
real "audit" consumer records the events they wrote to the outbox (the relay, on its
own connections, cannot see uncommitted rows), and the log is read through the API.
The end-to-end path on committed data (relay, inbox, redelivery) is in test_delivery."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.consumers import AUDIT
from marketplace.audit.models import AuditEvent
from marketplace.core.events import EventEnvelope
from marketplace.core.outbox import OutboxEvent
from marketplace.settings import Settings
from tests.companies.conftest import tenant  # noqa: F401 (fixture)
from tests.conftest import make_settings
from tests.factories import platform_of
from tests.trade.conftest import market  # noqa: F401 (fixture)

AUDIT_PATH = "/api/v1/audit-events"
ADMIN_AUDIT_PATH = "/api/v1/admin/audit-events"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Webhook endpoints on the local machine may be registered (no DNS in tests).
    return make_settings(database_url=database_url, webhook_allowed_hosts=["127.0.0.1"])


async def outbox_mark(session: AsyncSession) -> int:
    """Where the outbox stands: events of the fixtures' set-up come before it."""
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.seq), 0))) or 0)


async def record_outbox(app: FastAPI, session: AsyncSession, after: int) -> list[str]:
    """Hand the outbox events after `after` not yet in the log to the audit consumer,
    in order; the types handed over."""
    recorded = select(AuditEvent.event_id)
    rows = (
        await session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.seq > after, OutboxEvent.id.not_in(recorded))
            .order_by(OutboxEvent.seq)
        )
    ).scalars()
    types: list[str] = []
    for row in list(rows):
        await AUDIT.handler(session, platform_of(app), EventEnvelope.from_row(row))
        types.append(row.type)
    return types


async def audit_log(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """A company's log (the caller's company), every page."""
    return await _all_pages(client, AUDIT_PATH, headers, params)


async def admin_log(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    return await _all_pages(client, ADMIN_AUDIT_PATH, headers, params)


async def _all_pages(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], params: dict[str, Any]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query = {key: str(value) for key, value in params.items()}
    while True:
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        query["cursor"] = body["next_cursor"]


def request_headers(headers: dict[str, str], request_id: str) -> dict[str, str]:
    return {**headers, "X-Request-ID": request_id}


def new_request_id() -> str:
    return f"audit-{uuid.uuid4().hex}"
