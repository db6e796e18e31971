"""Responses that carry a credential are never stored by a cache (RFC 6749 section 5.1)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_member, bearer_headers, make_company, make_user
from tests.identity.conftest import last_code, sign_in


def assert_not_stored(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_token_pairs_from_sign_in_and_refresh_are_not_stored(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "ns@example.com"})
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={
            "challenge_id": challenge.json()["challenge_id"],
            "code": last_code(outbox, "ns@example.com"),
        },
    )
    assert verified.status_code == 200, verified.text
    assert_not_stored(verified)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": verified.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert_not_stored(refreshed)


async def test_a_browser_session_answer_is_not_stored(app: FastAPI, outbox: Path) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as browser:
        challenge = await browser.post("/api/v1/auth/otp/request", json={"email": "w@example.com"})
        verified = await browser.post(
            "/api/v1/auth/otp/verify",
            json={
                "challenge_id": challenge.json()["challenge_id"],
                "code": last_code(outbox, "w@example.com"),
                "mode": "cookie",
            },
        )
    assert verified.status_code == 200, verified.text
    assert_not_stored(verified)


async def test_a_new_api_key_is_not_stored(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    company = await make_company(db_session, name="No Store GmbH", kind="supplier")
    owner = await make_user(db_session)
    await add_member(db_session, company, owner, "owner")
    created = await client.post(
        f"/api/v1/companies/{company.id}/api-keys",
        json={"name": "ERP", "scopes": ["catalog:read"]},
        headers=await bearer_headers(app, db_session, owner),
    )
    assert created.status_code == 201, created.text
    assert_not_stored(created)


async def test_ordinary_reads_keep_their_caching(client: httpx.AsyncClient, outbox: Path) -> None:
    tokens = await sign_in(client, outbox)
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert "no-store" not in me.headers.get("cache-control", "")
