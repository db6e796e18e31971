"""Invitations: sent by e-mail or SMS, accepted with the code or by signing in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import (
    INVITATION_TOKEN,
    Tenant,
    assert_problem,
    events_of,
    last_event,
    make_invitation,
    messages_to,
    sent,
    snapshot,
    token_in,
)
from tests.factories import bearer_headers, make_user


def invitations_url(tenant: Tenant) -> str:
    return f"/api/v1/companies/{tenant.company_id}/invitations"


async def person(
    app: FastAPI, session: AsyncSession, *, email: str | None = None, phone: str | None = None
) -> tuple[uuid.UUID, dict[str, str]]:
    user = await make_user(session, email=email, phone=phone)
    return user.id, await bearer_headers(app, session, user)


async def accept(client: httpx.AsyncClient, token: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/api/v1/invitations/accept", json={"token": token}, headers=headers)


async def test_an_email_invitation_is_sent_and_accepted(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    outbox: Path,
) -> None:
    mark = await last_event(db_session)
    response = await client.post(
        invitations_url(tenant),
        json={"email": "Jane.Doe@Example.COM", "role": "purchaser", "spending_limit": "300"},
        headers=tenant.headers["admin"],
    )
    assert response.status_code == 201, response.text
    invitation = response.json()
    assert invitation["destination"] == "jane.doe@example.com"
    assert invitation["channel"] == "email"
    assert invitation["role"] == "purchaser"
    assert invitation["spending_limit"] == "300.00"
    assert invitation["invited_by_user_id"] == str(tenant.user_ids["admin"])
    expires_at = datetime.fromisoformat(invitation["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert "token" not in invitation

    [message] = messages_to(outbox, "jane.doe@example.com")
    assert message["channel"] == "email"
    assert message["subject"] == "You are invited to join Acme Industrial on B2B Marketplace"
    assert "as purchaser" in message["body"]
    assert "expires in 7 days" in message["body"]
    token = token_in(message)
    stored = await db_session.scalar(
        text("SELECT token_hash FROM invitations WHERE id = :id"), {"id": invitation["id"]}
    )
    assert token not in str(stored)
    assert len(str(stored)) == 64

    pending = await client.get(invitations_url(tenant), headers=tenant.headers["owner"])
    assert invitation["id"] in [item["id"] for item in pending.json()["items"]]

    jane_id, jane = await person(app, db_session, email="jane.doe@example.com")
    joined = await accept(client, token, jane)
    assert joined.status_code == 200, joined.text
    assert joined.json()["company_id"] == str(tenant.company_id)
    assert joined.json()["company_name"] == "Acme Industrial"
    assert joined.json()["role"] == "purchaser"
    assert joined.json()["spending_limit"] == "300.00"

    members = await client.get(f"/api/v1/companies/{tenant.company_id}/members", headers=jane)
    assert members.status_code == 200
    assert str(jane_id) in [item["user_id"] for item in members.json()["items"]]
    accepted_by = await db_session.scalar(
        text("SELECT accepted_by_user_id FROM invitations WHERE id = :id"),
        {"id": invitation["id"]},
    )
    assert accepted_by == jane_id

    pending = await client.get(invitations_url(tenant), headers=tenant.headers["owner"])
    assert invitation["id"] not in [item["id"] for item in pending.json()["items"]]
    again = await accept(client, token, jane)
    assert_problem(again, 404)
    joined_events = [
        (event["payload"]["user_id"], event["payload"]["invitation_id"], event["actor_user_id"])
        for event in await events_of(db_session, tenant.company_id, after=mark)
        if event["type"] == "member.joined"
    ]
    assert joined_events == [(str(jane_id), invitation["id"], jane_id)]


async def test_a_phone_invitation_goes_by_sms(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    outbox: Path,
) -> None:
    response = await client.post(
        invitations_url(tenant),
        json={"phone": "+49 151 12345678", "role": "sales"},
        headers=tenant.headers["owner"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["destination"] == "+4915112345678"
    assert response.json()["channel"] == "phone"
    [message] = messages_to(outbox, "+4915112345678")
    assert message["channel"] == "sms"

    _user_id, headers = await person(app, db_session, phone="+4915112345678")
    joined = await accept(client, token_in(message), headers)
    assert joined.status_code == 200
    assert joined.json()["role"] == "sales"


async def test_the_message_follows_the_inviters_language(
    client: httpx.AsyncClient, tenant: Tenant, outbox: Path
) -> None:
    response = await client.post(
        invitations_url(tenant),
        json={"email": "kunde@example.de", "role": "admin"},
        headers={**tenant.headers["owner"], "Accept-Language": "de-DE"},
    )
    assert response.status_code == 201
    [message] = messages_to(outbox, "kunde@example.de")
    assert (
        message["subject"] == "Sie sind eingeladen, Acme Industrial auf B2B Marketplace beizutreten"
    )
    assert "als Administrator" in message["body"]
    assert re.search(r"in 7 Tagen ab", message["body"])


async def test_signing_in_with_the_invited_address_joins_the_company(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, outbox: Path
) -> None:
    mark = await last_event(db_session)
    invited = await client.post(
        invitations_url(tenant),
        json={"email": "newcomer@example.com", "role": "viewer"},
        headers=tenant.headers["owner"],
    )
    assert invited.status_code == 201
    challenge = await client.post(
        "/api/v1/auth/otp/request", json={"email": "newcomer@example.com"}
    )
    assert challenge.status_code == 202
    sign_in_message = messages_to(outbox, "newcomer@example.com")[-1]
    code = re.search(r"\b(\d{6})\b", sign_in_message["body"])
    assert code is not None
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": code.group(1)},
    )
    assert verified.status_code == 200, verified.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {verified.json()['access_token']}"}
    )
    assert [(c["company_id"], c["role"]) for c in me.json()["companies"]] == [
        (str(tenant.company_id), "viewer")
    ]
    [joined] = [
        event
        for event in await events_of(db_session, tenant.company_id, after=mark)
        if event["type"] == "member.joined"
    ]
    assert joined["actor_user_id"] == uuid.UUID(me.json()["id"])
    # The invitation is used up.
    token = token_in(messages_to(outbox, "newcomer@example.com")[0])
    again = await accept(
        client, token, {"Authorization": f"Bearer {verified.json()['access_token']}"}
    )
    assert_problem(again, 404)


@pytest.mark.parametrize("case", ["someone else", "expired", "revoked", "accepted", "unknown"])
async def test_an_unusable_code_is_not_found(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    case: str,
) -> None:
    invitation_id = await make_invitation(
        app,
        db_session,
        tenant.company_id,
        destination="target@example.com",
        token=INVITATION_TOKEN,
        expires_in=timedelta(seconds=-1) if case == "expired" else timedelta(days=1),
    )
    if case in {"revoked", "accepted"}:
        column = "revoked_at" if case == "revoked" else "accepted_at"
        await db_session.execute(
            text(f"UPDATE invitations SET {column} = now() WHERE id = :id"), {"id": invitation_id}
        )
    email = "intruder@example.com" if case == "someone else" else "target@example.com"
    _user_id, headers = await person(app, db_session, email=email)
    token = INVITATION_TOKEN if case != "unknown" else "an-unknown-but-well-formed-token-000"
    before = await snapshot(db_session)
    response = await accept(client, token, headers)
    problem = assert_problem(response, 404)
    assert problem["detail"] == "The invitation does not exist, has expired or was already used."
    assert await snapshot(db_session) == before


async def test_a_phone_invitation_is_not_accepted_by_an_email_user(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    await make_invitation(
        app,
        db_session,
        tenant.company_id,
        destination="+4915112345678",
        channel="phone",
        token=INVITATION_TOKEN,
    )
    _user_id, headers = await person(app, db_session, email="someone@example.com")
    assert_problem(await accept(client, INVITATION_TOKEN, headers), 404)


async def test_inviting_again_replaces_the_pending_invitation(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    outbox: Path,
) -> None:
    body = {"email": "twice@example.com", "role": "viewer"}
    first = await client.post(invitations_url(tenant), json=body, headers=tenant.headers["owner"])
    second = await client.post(invitations_url(tenant), json=body, headers=tenant.headers["owner"])
    assert first.status_code == second.status_code == 201
    pending = await client.get(invitations_url(tenant), headers=tenant.headers["owner"])
    ids = [item["id"] for item in pending.json()["items"]]
    assert second.json()["id"] in ids
    assert first.json()["id"] not in ids

    old_message, new_message = messages_to(outbox, "twice@example.com")
    _user_id, headers = await person(app, db_session, email="twice@example.com")
    assert_problem(await accept(client, token_in(old_message), headers), 404)
    assert (await accept(client, token_in(new_message), headers)).status_code == 200


async def test_revoking_an_invitation_kills_its_code(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    invitation_id = await make_invitation(
        app, db_session, tenant.company_id, destination="late@example.com", token=INVITATION_TOKEN
    )
    url = f"{invitations_url(tenant)}/{invitation_id}"
    assert (await client.delete(url, headers=tenant.headers["admin"])).status_code == 204
    assert_problem(await client.delete(url, headers=tenant.headers["admin"]), 404)
    _user_id, headers = await person(app, db_session, email="late@example.com")
    assert_problem(await accept(client, INVITATION_TOKEN, headers), 404)


async def test_members_are_not_invited_again(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        invitations_url(tenant),
        json={"email": tenant.emails["sales"].upper(), "role": "admin"},
        headers=tenant.headers["owner"],
    )
    assert_problem(response, 409)
    assert response.json()["type"] == "urn:marketplace:problem:already-member"
    assert await snapshot(db_session) == before


async def test_only_owners_invite_or_uninvite_owners(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    body = {"email": "co-owner@example.com", "role": "owner"}
    before = await snapshot(db_session)
    denied = await client.post(invitations_url(tenant), json=body, headers=tenant.headers["admin"])
    assert_problem(denied, 403)
    assert await snapshot(db_session) == before
    allowed = await client.post(invitations_url(tenant), json=body, headers=tenant.headers["owner"])
    assert allowed.status_code == 201

    url = f"{invitations_url(tenant)}/{allowed.json()['id']}"
    before = await snapshot(db_session)
    assert_problem(await client.delete(url, headers=tenant.headers["admin"]), 403)
    assert await snapshot(db_session) == before
    assert (await client.delete(url, headers=tenant.headers["owner"])).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-address", "role": "viewer"},
        {"email": "a@b", "role": "viewer"},
        {"email": "bell\x07@example.com", "role": "viewer"},
        {"email": ("x" * 250) + "@example.com", "role": "viewer"},
        {"phone": "015112345678", "role": "viewer"},
        {"phone": "+49 123", "role": "viewer"},
        {"phone": "+1 555 CALL NOW", "role": "viewer"},
        {"email": "both@example.com", "phone": "+4915112345678", "role": "viewer"},
        {"role": "viewer"},
        {"email": "x@example.com"},
        {"email": "x@example.com", "role": "god"},
        {"email": "x@example.com", "role": "purchaser", "spending_limit": "-5"},
        {"email": "x@example.com", "role": "viewer", "spending_limit": "5"},
        {"email": "x@example.com", "role": "viewer", "company_id": str(uuid.uuid4())},
        {"email": "x@example.com", "role": "viewer", "token": "chosen-by-the-client"},
    ],
)
async def test_bad_invitations_are_rejected_and_nothing_is_sent(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    outbox: Path,
    body: dict[str, Any],
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        invitations_url(tenant), json=body, headers=tenant.headers["owner"]
    )
    assert_problem(response, 422)
    assert response.json()["errors"]
    assert await snapshot(db_session) == before
    assert sent(outbox) == []


@pytest.mark.parametrize("token", ["short", "x" * 101, "has spaces in it, twenty chars", ""])
async def test_malformed_codes_are_rejected(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, token: str
) -> None:
    _user_id, headers = await person(app, db_session)
    assert_problem(await accept(client, token, headers), 422)
