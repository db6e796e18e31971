"""The webhook endpoints API: register (secret shown once, encrypted at rest), list,
read, change, enable/disable, rotate, delete; the delivery log and redelivery; bad
input answered with 422 and nothing written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.service import secret_box
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_company,
    make_user,
    platform_of,
)

# A public address, written as an IP so that registering needs no DNS. Nothing is ever
# sent to it: these tests run in transactions that are rolled back.
PUBLIC_URL = "https://93.184.215.14/hooks"


@pytest.fixture
async def acme(db_session: AsyncSession) -> Company:
    return await make_company(db_session, name="Acme Webhooks", kind="supplier")


@pytest.fixture
async def owner(app: FastAPI, db_session: AsyncSession, acme: Company) -> dict[str, str]:
    user = await make_user(db_session)
    await add_member(db_session, acme, user, "owner")
    return await bearer_headers(app, db_session, user)


def base(company: Company | uuid.UUID) -> str:
    company_id = company.id if isinstance(company, Company) else company
    return f"/api/v1/companies/{company_id}/webhooks"


async def register(
    client: httpx.AsyncClient, company: Company, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    payload = {"url": PUBLIC_URL, "event_types": ["api_key.created"], **body}
    response = await client.post(base(company), json=payload, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"  # it carries the secret
    created: dict[str, Any] = response.json()
    return created


async def endpoint_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0)


async def make_delivery(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    status: str = "dead",
    attempts: int = 3,
    max_attempts: int = 3,
    created_at: datetime | None = None,
    claimed_until: datetime | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint_id,
        company_id=company_id,
        event_id=uuid.uuid4(),
        event_type="api_key.created",
        event_occurred_at=datetime.now(UTC),
        payload={"name": "x"},
        status=status,
        attempts=attempts,
        max_attempts=max_attempts,
        next_attempt_at=None if status in ("dead", "delivered") else datetime.now(UTC),
        last_attempt_at=datetime.now(UTC) if attempts else None,
        response_status_code=500 if attempts else None,
        response_time_ms=12 if attempts else None,
        last_error="HTTP 500" if attempts else None,
        claimed_until=claimed_until,
        claim_token=uuid.uuid4() if claimed_until else None,
        created_at=created_at or datetime.now(UTC),
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def test_registering_shows_the_secret_once_and_stores_it_encrypted(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    acme: Company,
    owner: dict[str, str],
) -> None:
    created = await register(
        client,
        acme,
        owner,
        description="ERP sync",
        event_types=["api_key.revoked", "api_key.created"],
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) >= 40
    assert created["url"] == PUBLIC_URL
    assert created["event_types"] == ["api_key.created", "api_key.revoked"]  # sorted
    assert created["description"] == "ERP sync"
    assert created["is_enabled"] is True
    assert created["company_id"] == str(acme.id)
    assert created["disabled_reason"] is None

    read = await client.get(f"{base(acme)}/{created['id']}", headers=owner)
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await client.get(base(acme), headers=owner)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text + read.text

    stored = await db_session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert stored is not None
    assert secret not in stored.secret_encrypted
    assert secret_box(platform_of(app).settings).decrypt(stored.secret_encrypted) == secret

    event = (
        await db_session.execute(
            text("SELECT type, payload FROM outbox_events WHERE aggregate_id = :id"),
            {"id": stored.id},
        )
    ).one()
    assert event.type == "webhook.created"
    assert secret not in str(event.payload)


async def test_every_event_type_may_be_subscribed_with_a_star(
    client: httpx.AsyncClient, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner, event_types=["*"])
    assert created["event_types"] == ["*"]
    types = await client.get(f"{base(acme)}/event-types", headers=owner)
    assert types.status_code == 200
    assert {"api_key.created", "api_key.revoked", "webhook.disabled"} <= set(types.json())


async def test_changing_an_endpoint(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    url = f"{base(acme)}/{created['id']}"
    changed = await client.patch(
        url,
        json={
            "url": "https://93.184.215.15:8443/v2/hooks?source=marketplace",
            "event_types": ["*"],
            "description": "Moved",
        },
        headers=owner,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["url"] == "https://93.184.215.15:8443/v2/hooks?source=marketplace"
    assert body["event_types"] == ["*"]
    assert body["description"] == "Moved"
    event = (
        await db_session.execute(
            text(
                "SELECT payload FROM outbox_events WHERE aggregate_id = :id "
                "AND type = 'webhook.updated'"
            ),
            {"id": uuid.UUID(created["id"])},
        )
    ).scalar_one()
    assert event["fields"] == ["url", "event_types", "description"]


async def test_disabling_and_enabling(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    url = f"{base(acme)}/{created['id']}"
    disabled = await client.patch(url, json={"is_enabled": False}, headers=owner)
    assert disabled.status_code == 200
    assert disabled.json()["is_enabled"] is False
    assert disabled.json()["disabled_reason"] == "manual"
    assert disabled.json()["disabled_at"] is not None

    # As if it had been disabled for failing: enabling gives it a fresh start.
    await db_session.execute(
        text(
            "UPDATE webhook_endpoints SET disabled_reason = 'failing', "
            "failing_since = now() - interval '4 days' WHERE id = :id"
        ),
        {"id": uuid.UUID(created["id"])},
    )
    enabled = await client.patch(url, json={"is_enabled": True}, headers=owner)
    assert enabled.status_code == 200
    body = enabled.json()
    assert body["is_enabled"] is True
    assert body["disabled_reason"] is None
    assert body["disabled_at"] is None
    assert body["failing_since"] is None


async def test_an_unchanged_patch_writes_no_event(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner, description="Same")
    before = await db_session.scalar(text("SELECT count(*) FROM outbox_events"))
    response = await client.patch(
        f"{base(acme)}/{created['id']}", json={"description": "Same"}, headers=owner
    )
    assert response.status_code == 200
    assert await db_session.scalar(text("SELECT count(*) FROM outbox_events")) == before


async def test_rotating_the_secret_keeps_the_old_one_for_a_grace_period(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    acme: Company,
    owner: dict[str, str],
) -> None:
    created = await register(client, acme, owner)
    url = f"{base(acme)}/{created['id']}/rotate-secret"
    rotated = await client.post(url, headers=owner)
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != created["secret"]
    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    box = secret_box(platform_of(app).settings)
    stored = await db_session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert stored is not None
    await db_session.refresh(stored)
    assert box.decrypt(stored.secret_encrypted) == new_secret
    assert stored.previous_secret_encrypted is not None
    assert box.decrypt(stored.previous_secret_encrypted) == created["secret"]

    # After a leak: no grace at all.
    immediate = await client.post(url, json={"grace_period_seconds": 0}, headers=owner)
    assert immediate.status_code == 200
    assert immediate.json()["previous_secret_expires_at"] is None
    await db_session.refresh(stored)
    assert stored.previous_secret_encrypted is None
    assert box.decrypt(stored.secret_encrypted) == immediate.json()["secret"]
    read = await client.get(f"{base(acme)}/{created['id']}", headers=owner)
    assert immediate.json()["secret"] not in read.text


async def test_deleting_an_endpoint_removes_its_log(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    endpoint_id = uuid.UUID(created["id"])
    await make_delivery(db_session, endpoint_id, acme.id)
    response = await client.delete(f"{base(acme)}/{endpoint_id}", headers=owner)
    assert response.status_code == 204
    assert await db_session.get(WebhookEndpoint, endpoint_id) is None
    remaining = await db_session.scalar(
        select(func.count()).where(WebhookDelivery.endpoint_id == endpoint_id)
    )
    assert remaining == 0
    again = await client.get(f"{base(acme)}/{endpoint_id}", headers=owner)
    assert again.status_code == 404


async def test_the_delivery_log_is_paginated_newest_first(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    endpoint_id = uuid.UUID(created["id"])
    start = datetime.now(UTC) - timedelta(hours=1)
    deliveries = [
        await make_delivery(
            db_session,
            endpoint_id,
            acme.id,
            status="delivered" if index % 2 else "dead",
            created_at=start + timedelta(minutes=index),
        )
        for index in range(5)
    ]
    url = f"{base(acme)}/{endpoint_id}/deliveries"
    first = await client.get(url, params={"limit": 2}, headers=owner)
    assert first.status_code == 200
    page = first.json()
    assert [item["id"] for item in page["items"]] == [str(deliveries[4].id), str(deliveries[3].id)]
    item = page["items"][0]
    assert item["webhook_id"] == str(endpoint_id)
    assert item["status"] == "dead"
    assert item["attempts"] == 3
    assert item["response_status_code"] == 500
    assert item["response_time_ms"] == 12
    assert item["last_error"] == "HTTP 500"
    assert "next_attempt_at" in item
    seen = [entry["id"] for entry in page["items"]]
    cursor = page["next_cursor"]
    while cursor:
        following = await client.get(url, params={"limit": 2, "cursor": cursor}, headers=owner)
        seen += [entry["id"] for entry in following.json()["items"]]
        cursor = following.json()["next_cursor"]
    assert seen == [str(delivery.id) for delivery in reversed(deliveries)]

    dead = await client.get(url, params={"status": "dead"}, headers=owner)
    assert {entry["status"] for entry in dead.json()["items"]} == {"dead"}
    assert len(dead.json()["items"]) == 3
    one = await client.get(f"{url}/{deliveries[0].id}", headers=owner)
    assert one.status_code == 200
    assert one.json()["id"] == str(deliveries[0].id)


async def test_redelivering_a_dead_delivery_schedules_one_more_try(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    endpoint_id = uuid.UUID(created["id"])
    delivery = await make_delivery(db_session, endpoint_id, acme.id)
    response = await client.post(
        f"{base(acme)}/{endpoint_id}/deliveries/{delivery.id}/redeliver", headers=owner
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["attempts"] == 3
    assert body["max_attempts"] == 4
    next_attempt = datetime.fromisoformat(body["next_attempt_at"])
    assert abs(next_attempt - datetime.now(UTC)) < timedelta(seconds=5)
    event = (
        await db_session.execute(
            text(
                "SELECT payload FROM outbox_events WHERE aggregate_id = :id "
                "AND type = 'webhook.redelivery_requested'"
            ),
            {"id": endpoint_id},
        )
    ).scalar_one()
    assert event["delivery_id"] == str(delivery.id)


async def test_a_delivery_being_sent_or_of_a_disabled_endpoint_is_not_redelivered(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await register(client, acme, owner)
    endpoint_id = uuid.UUID(created["id"])
    in_flight = await make_delivery(
        db_session,
        endpoint_id,
        acme.id,
        status="retrying",
        attempts=1,
        claimed_until=datetime.now(UTC) + timedelta(minutes=1),
    )
    url = f"{base(acme)}/{endpoint_id}/deliveries/{in_flight.id}/redeliver"
    busy = await client.post(url, headers=owner)
    assert busy.status_code == 409
    assert busy.json()["type"].endswith("delivery-in-progress")

    await client.patch(f"{base(acme)}/{endpoint_id}", json={"is_enabled": False}, headers=owner)
    dead = await make_delivery(db_session, endpoint_id, acme.id)
    refused = await client.post(
        f"{base(acme)}/{endpoint_id}/deliveries/{dead.id}/redeliver", headers=owner
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("webhook-disabled")


async def test_a_company_has_at_most_twenty_endpoints(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    for _ in range(20):
        await register(client, acme, owner)
    response = await client.post(
        base(acme), json={"url": PUBLIC_URL, "event_types": ["*"]}, headers=owner
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("too-many-webhooks")
    assert await endpoint_count(db_session) == 20


async def test_an_api_key_with_the_scope_manages_webhooks(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    api_key, headers = await make_api_key(app, db_session, acme, [Scope.WEBHOOKS_MANAGE])
    created = await register(client, acme, headers)
    stored = await db_session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert stored is not None
    assert stored.created_by_user_id is None
    actor = await db_session.scalar(
        text("SELECT actor_api_key_id FROM outbox_events WHERE aggregate_id = :id"),
        {"id": stored.id},
    )
    assert actor == api_key.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_types": ["*"]}, "url"),
        ({"url": PUBLIC_URL}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": []}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["*", "api_key.created"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["no.such_event"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": "api_key.created"}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["x" * 101]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["*"], "description": "d" * 501}, "description"),
        ({"url": PUBLIC_URL, "event_types": ["*"], "description": "bell\x07"}, "description"),
        ({"url": PUBLIC_URL, "event_types": ["*"], "secret": "mine"}, "secret"),
        ({"url": "https://" + "a" * 2050 + ".com/", "event_types": ["*"]}, "url"),
        ({"url": "", "event_types": ["*"]}, "url"),
        ({"url": "not a url", "event_types": ["*"]}, "url"),
        ({"url": "ftp://93.184.215.14/", "event_types": ["*"]}, "url"),
        ({"url": "https://93.184.215.14:99999/", "event_types": ["*"]}, "url"),
        ({"url": 42, "event_types": ["*"]}, "url"),
    ],
)
async def test_bad_registrations_are_422_and_write_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    acme: Company,
    owner: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    before = await db_session.scalar(text("SELECT count(*) FROM outbox_events"))
    response = await client.post(base(acme), json=body, headers=owner)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {str(part) for error in response.json()["errors"] for part in error["loc"]}
    assert await endpoint_count(db_session) == 0
    assert await db_session.scalar(text("SELECT count(*) FROM outbox_events")) == before


@pytest.mark.parametrize(
    "body",
    [
        {"url": None},
        {"is_enabled": None},
        {"is_enabled": "maybe"},
        {"event_types": []},
        {"event_types": ["no.such_event"]},
        {"url": "http://10.0.0.1/"},
        {"unknown": 1},
    ],
)
async def test_bad_changes_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    acme: Company,
    owner: dict[str, str],
    body: dict[str, Any],
) -> None:
    created = await register(client, acme, owner)
    url = f"{base(acme)}/{created['id']}"
    response = await client.patch(url, json=body, headers=owner)
    assert response.status_code == 422, response.text
    after = (await client.get(url, headers=owner)).json()
    assert after == {key: value for key, value in created.items() if key != "secret"}


async def test_problem_messages_are_translated(
    client: httpx.AsyncClient, acme: Company, owner: dict[str, str]
) -> None:
    response = await client.post(
        base(acme),
        json={"url": "https://10.1.2.3/", "event_types": ["*"]},
        headers={**owner, "Accept-Language": "de"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] != "The webhook URL cannot be used."
    assert body["errors"][0]["loc"] == ["body", "url"]
    assert body["errors"][0]["msg"] != "The URL's host must resolve to a public internet address."


async def test_an_invalid_cursor_is_400(
    client: httpx.AsyncClient, acme: Company, owner: dict[str, str]
) -> None:
    response = await client.get(base(acme), params={"cursor": "%%%"}, headers=owner)
    assert response.status_code == 400
