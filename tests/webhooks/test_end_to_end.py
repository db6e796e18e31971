"""The whole path on the running application: a change through the API commits an
event, the in-process relay hands it to the webhooks consumer, the sender loop of the
API process delivers it to a local receiver, and the delivery log shows it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from marketplace.companies.models import Company, Membership
from marketplace.identity import service as identity
from marketplace.identity.models import User
from tests.conftest import client_for, started_app
from tests.factories import platform_of
from tests.webhooks.conftest import Receiver, verify_signature, webhook_settings


@pytest.fixture
async def live(
    database_url: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, uuid.UUID, dict[str, str]]]:
    """The running application on committed data, and a company with a signed-in owner."""
    company_id = uuid.uuid4()
    user_id = uuid.uuid4()
    async for app in started_app(webhook_settings(database_url)):
        platform = platform_of(app)
        async with platform.database.session_factory() as session:
            session.add(Company(id=company_id, name="Live Hooks", kind="both", country="DE"))
            user = User(id=user_id, email=f"hooks-{uuid.uuid4().hex[:8]}@example.com")
            session.add(user)
            await session.flush()
            session.add(Membership(company_id=company_id, user_id=user_id, role="owner"))
            tokens = await identity.start_token_session(
                session, platform, user, identity.ClientInfo(ip="127.0.0.1", user_agent="e2e")
            )
            await session.commit()
        async with client_for(app) as client:
            yield client, company_id, {"Authorization": f"Bearer {tokens.access_token}"}
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("DELETE FROM companies WHERE id = $1", company_id)
        await connection.execute("DELETE FROM users WHERE id = $1", user_id)
        await connection.execute(
            "DELETE FROM outbox_events WHERE $1 = ANY(company_ids)", company_id
        )
    finally:
        await connection.close()


async def wait_for(receiver: Receiver, count: int, within_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + within_seconds
    while len(receiver.received) < count:
        assert time.monotonic() < deadline, f"{len(receiver.received)} of {count} received"
        await asyncio.sleep(0.05)


async def test_an_api_change_reaches_the_receiver_signed_and_logged(
    live: tuple[httpx.AsyncClient, uuid.UUID, dict[str, str]], receiver: Receiver
) -> None:
    client, company_id, owner = live
    hooks = f"/api/v1/companies/{company_id}/webhooks"
    created = await client.post(
        hooks,
        json={"url": receiver.url(), "event_types": ["api_key.created"]},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    webhook = created.json()

    key = await client.post(
        f"/api/v1/companies/{company_id}/api-keys",
        json={"name": "ERP sync", "scopes": ["catalog:read"]},
        headers=owner,
    )
    assert key.status_code == 201, key.text
    await wait_for(receiver, 1)
    [request] = receiver.received
    assert verify_signature(webhook["secret"], request.headers, request.body)
    body = json.loads(request.body)
    assert body["type"] == "api_key.created"  # not webhook.created: not subscribed
    assert body["company_id"] == str(company_id)
    assert body["data"]["name"] == "ERP sync"
    assert body["data"]["api_key_id"] == key.json()["id"]
    assert key.json()["key"] not in request.body.decode()

    log = await client.get(f"{hooks}/{webhook['id']}/deliveries", headers=owner)
    assert log.status_code == 200
    [delivery] = log.json()["items"]
    assert delivery["status"] == "delivered"
    assert delivery["event_id"] == body["id"]
    assert delivery["attempts"] == 1
    assert delivery["response_status_code"] == 200
    assert delivery["response_time_ms"] >= 0

    # Redelivered by hand: the same event again, signed afresh.
    again = await client.post(
        f"{hooks}/{webhook['id']}/deliveries/{delivery['id']}/redeliver", headers=owner
    )
    assert again.status_code == 202, again.text
    await wait_for(receiver, 2)
    second = receiver.received[1]
    assert second.headers["webhook-id"] == body["id"]
    assert second.headers["webhook-attempt"] == "2"
    assert verify_signature(webhook["secret"], second.headers, second.body)

    # After a rotation, deliveries carry both signatures for the grace period.
    rotated = await client.post(f"{hooks}/{webhook['id']}/rotate-secret", headers=owner)
    assert rotated.status_code == 200
    await client.post(
        f"/api/v1/companies/{company_id}/api-keys",
        json={"name": "Second", "scopes": ["catalog:read"]},
        headers=owner,
    )
    await wait_for(receiver, 3)
    third = receiver.received[2]
    assert verify_signature(rotated.json()["secret"], third.headers, third.body)
    assert verify_signature(webhook["secret"], third.headers, third.body)
