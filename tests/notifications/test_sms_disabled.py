"""SMS_TRANSPORT=disabled (what production runs until an SMS provider is plugged in):
nothing is promised that cannot be delivered. A code or an invitation for a phone
number is refused with a 422 before anything is written; notifications go in-app and by
e-mail, and no SMS delivery is queued that could never be sent."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.platform import Platform
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import bearer_headers, make_company, make_user
from tests.notifications.conftest import World, sent_messages
from tests.notifications.test_consumer import api_key_payload, deliver, deliveries, notified

PHONE = "+4915112345678"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url=database_url,
        email_transport="file",
        sms_transport="disabled",
        notification_file_path=tmp_path / "sent.jsonl",
    )


@pytest.fixture
def live_settings(database_url: str, outbox_file: Path) -> Settings:
    return make_settings(
        database_url=database_url,
        email_transport="file",
        sms_transport="disabled",
        notification_file_path=outbox_file,
    )


def assert_sms_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:marketplace:problem:sms-unavailable"
    assert body["detail"] == "This service sends no text messages: use an e-mail address instead."


async def test_a_sign_in_code_by_sms_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    before = await db_session.scalar(text("SELECT count(*) FROM otp_challenges"))
    refused = await client.post("/api/v1/auth/otp/request", json={"phone": PHONE})
    assert_sms_unavailable(refused)
    assert await db_session.scalar(text("SELECT count(*) FROM otp_challenges")) == before
    assert sent_messages(settings.notification_file_path) == []

    by_email = await client.post("/api/v1/auth/otp/request", json={"email": "mail@example.com"})
    assert by_email.status_code == 202


async def test_an_invitation_by_sms_is_refused_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    owner = await make_user(db_session, email="owner@example.com")
    company = await make_company(db_session, owner=owner)
    headers = await bearer_headers(app, db_session, owner, company)
    url = f"/api/v1/companies/{company.id}/invitations"

    refused = await client.post(url, json={"phone": PHONE, "role": "sales"}, headers=headers)
    assert_sms_unavailable(refused)
    count = "SELECT count(*) FROM invitations WHERE company_id = :company"
    assert await db_session.scalar(text(count), {"company": company.id}) == 0
    assert sent_messages(settings.notification_file_path) == []


async def test_notifications_queue_no_sms_while_sms_is_disabled(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company = await world.company(kind="supplier")
    phone_only = await world.member(company, "owner", phone=PHONE)
    both = await world.member(company, "admin", email="both@example.com", phone="+4915187654321")
    envelope = world.envelope("api_key.created", [company.id], api_key_payload(company))

    await deliver(live_platform, envelope)

    assert set(await notified(world, envelope.id)) == {phone_only.id, both.id}
    assert [(row[1], row[0]) for row in await deliveries(world, envelope.id)] == [
        ("email", both.id)
    ]
    assert [(m["channel"], m["to"]) for m in sent_messages(outbox_file)] == [
        ("email", "both@example.com")
    ]
