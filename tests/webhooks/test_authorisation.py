"""Who may call which webhook endpoint.

Anonymous 401; a member of another company, a staff member who is not a member and
another company's API key 404 (ids cannot be probed); purchasers, sales and viewers
403; owners, admins and this company's API key with `webhooks:manage` allowed; an API
key without that scope 403. Every denied call leaves the database as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.permissions import Scope
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.service import secret_box
from marketplace.webhooks.signing import new_webhook_secret
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_company,
    make_user,
    platform_of,
)

ROLES = ("owner", "admin", "purchaser", "sales", "viewer")
CALLERS = (
    "anonymous",
    *ROLES,
    "outsider",
    "staff",
    "api_key_webhooks",
    "api_key_other_scopes",
    "other_api_key",
)
ALLOWED = frozenset({"owner", "admin", "api_key_webhooks"})


@dataclass
class World:
    company_id: uuid.UUID
    webhook_id: uuid.UUID
    delivery_id: uuid.UUID
    other_company_id: uuid.UUID
    other_webhook_id: uuid.UUID
    other_delivery_id: uuid.UUID
    headers: dict[str, dict[str, str]]


async def _endpoint(
    app: FastAPI, session: AsyncSession, company_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID]:
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        company_id=company_id,
        url="https://93.184.215.14/hooks",
        event_types=["*"],
        secret_encrypted=secret_box(platform_of(app).settings).encrypt(new_webhook_secret()),
    )
    session.add(endpoint)
    await session.flush()
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint.id,
        company_id=company_id,
        event_id=uuid.uuid4(),
        event_type="api_key.created",
        event_occurred_at=datetime.now(UTC),
        payload={},
        status="dead",
        attempts=3,
        max_attempts=3,
    )
    session.add(delivery)
    await session.flush()
    return endpoint.id, delivery.id


@pytest.fixture
async def world(app: FastAPI, db_session: AsyncSession) -> World:
    company = await make_company(db_session, name="Acme Hooks", kind="both")
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES:
        user = await make_user(db_session)
        await add_member(db_session, company, user, role)
        headers[role] = await bearer_headers(app, db_session, user)
    other_owner = await make_user(db_session)
    other = await make_company(db_session, name="Beta Hooks", owner=other_owner)
    headers["outsider"] = await bearer_headers(app, db_session, other_owner)
    staff = await make_user(db_session, is_staff=True)
    headers["staff"] = await bearer_headers(app, db_session, staff)
    _key, headers["api_key_webhooks"] = await make_api_key(
        app, db_session, company, [Scope.WEBHOOKS_MANAGE]
    )
    _key, headers["api_key_other_scopes"] = await make_api_key(
        app, db_session, company, [scope for scope in Scope if scope != Scope.WEBHOOKS_MANAGE]
    )
    _key, headers["other_api_key"] = await make_api_key(app, db_session, other, list(Scope))
    webhook_id, delivery_id = await _endpoint(app, db_session, company.id)
    other_webhook_id, other_delivery_id = await _endpoint(app, db_session, other.id)
    return World(
        company.id,
        webhook_id,
        delivery_id,
        other.id,
        other_webhook_id,
        other_delivery_id,
        headers,
    )


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[World], str]
    success: int
    body: dict[str, Any] | None = None


def _hooks(world: World) -> str:
    return f"/api/v1/companies/{world.company_id}/webhooks"


def _hook(world: World) -> str:
    return f"{_hooks(world)}/{world.webhook_id}"


def _delivery(world: World) -> str:
    return f"{_hook(world)}/deliveries/{world.delivery_id}"


ENDPOINTS = (
    Endpoint("list", "GET", _hooks, 200),
    Endpoint(
        "create",
        "POST",
        _hooks,
        201,
        {"url": "https://93.184.215.14/new", "event_types": ["*"]},
    ),
    Endpoint("event types", "GET", lambda w: f"{_hooks(w)}/event-types", 200),
    Endpoint("read", "GET", _hook, 200),
    Endpoint("update", "PATCH", _hook, 200, {"description": "Changed"}),
    Endpoint("disable", "PATCH", _hook, 200, {"is_enabled": False}),
    Endpoint("delete", "DELETE", _hook, 204),
    Endpoint("rotate secret", "POST", lambda w: f"{_hook(w)}/rotate-secret", 200),
    Endpoint("deliveries", "GET", lambda w: f"{_hook(w)}/deliveries", 200),
    Endpoint("delivery", "GET", _delivery, 200),
    Endpoint("redeliver", "POST", lambda w: f"{_delivery(w)}/redeliver", 202),
)

_SNAPSHOT = {
    "endpoints": "SELECT * FROM webhook_endpoints ORDER BY id",
    "deliveries": "SELECT * FROM webhook_deliveries ORDER BY id",
    "outbox": "SELECT id, type FROM outbox_events ORDER BY seq",
}


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [tuple(row) for row in (await session.execute(text(query))).all()]
        for name, query in _SNAPSHOT.items()
    }


def expected_status(endpoint: Endpoint, caller: str) -> int:
    if caller == "anonymous":
        return 401
    if caller in {"outsider", "staff", "other_api_key"}:
        return 404
    return endpoint.success if caller in ALLOWED else 403


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
async def test_webhook_endpoint_authorisation(
    client: httpx.AsyncClient, db_session: AsyncSession, world: World, endpoint: Endpoint
) -> None:
    """Every caller against one endpoint, each call inside a savepoint that is rolled
    back afterwards, so that each caller meets the same data (one fixture per endpoint
    instead of one per caller keeps the matrix fast)."""
    for caller in CALLERS:
        expected = expected_status(endpoint, caller)
        savepoint = await db_session.begin_nested()
        try:
            before = await snapshot(db_session)
            response = await client.request(
                endpoint.method,
                endpoint.path(world),
                json=endpoint.body,
                headers=world.headers[caller],
            )
            assert response.status_code == expected, (caller, response.text)
            after = await snapshot(db_session)
            if expected >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                assert after == before, f"a denied call changed data ({caller})"
            elif endpoint.method != "GET":
                assert after != before, caller
            else:
                assert after == before, caller
        finally:
            await savepoint.rollback()


async def test_another_companys_webhooks_are_not_found_through_your_company(
    client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    """Company A's owner names company B's endpoint (or delivery) under A's path: 404."""
    before = await snapshot(db_session)
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"description": "Hijacked"}),
        ("DELETE", "", None),
        ("POST", "/rotate-secret", None),
        ("GET", "/deliveries", None),
        ("GET", "/deliveries/{delivery}", None),
        ("POST", "/deliveries/{delivery}/redeliver", None),
    ):
        path = f"{_hooks(world)}/{world.other_webhook_id}" + suffix.format(
            delivery=world.other_delivery_id
        )
        response = await client.request(method, path, json=body, headers=world.headers["owner"])
        assert response.status_code == 404, (method, suffix, response.text)
    assert await snapshot(db_session) == before


async def test_a_delivery_of_another_endpoint_is_not_found(
    client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    """Your endpoint, another company's delivery id: 404 as well."""
    path = f"{_hook(world)}/deliveries/{world.other_delivery_id}"
    before = await snapshot(db_session)
    for method, suffix in (("GET", ""), ("POST", "/redeliver")):
        response = await client.request(method, path + suffix, headers=world.headers["owner"])
        assert response.status_code == 404, response.text
    assert await snapshot(db_session) == before


async def test_probing_an_unknown_company_answers_like_a_real_one(
    client: httpx.AsyncClient, world: World
) -> None:
    real = await client.get(_hooks(world), headers=world.headers["outsider"])
    made_up = await client.get(
        f"/api/v1/companies/{uuid.uuid4()}/webhooks", headers=world.headers["outsider"]
    )
    assert real.status_code == made_up.status_code == 404
    assert real.json()["detail"] == made_up.json()["detail"]
