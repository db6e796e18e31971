"""Company API keys: shown once, hashed at rest, scoped, revocable, tenant-bound."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.identity.models import ApiKey
from tests.factories import add_member, bearer_headers, make_api_key, make_company, make_user


async def keys_of(session: AsyncSession, company: Company) -> list[ApiKey]:
    rows = await session.execute(
        select(ApiKey).where(ApiKey.company_id == company.id).order_by(ApiKey.created_at)
    )
    return list(rows.scalars())


@pytest.fixture
async def acme(db_session: AsyncSession) -> Company:
    return await make_company(db_session, name="Acme Supplies", kind="supplier")


async def owner_headers(app: FastAPI, session: AsyncSession, company: Company) -> dict[str, str]:
    owner = await make_user(session)
    await add_member(session, company, owner, "owner")
    return await bearer_headers(app, session, owner)


async def test_key_is_shown_once_and_stored_hashed(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    headers = await owner_headers(app, db_session, acme)
    created = await client.post(
        f"/api/v1/companies/{acme.id}/api-keys",
        json={"name": "ERP sync", "scopes": ["catalog:read", "orders:write"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["key"]
    assert secret.startswith(f"mk_{body['prefix']}_")
    assert body["scopes"] == ["catalog:read", "orders:write"]

    listed = await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [body["id"]]
    assert "key" not in listed.json()[0]
    assert secret not in listed.text

    stored = (await keys_of(db_session, acme))[0]
    assert secret not in stored.key_hash
    assert len(stored.key_hash) == 64


async def test_key_authenticates_and_records_last_use(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    api_key, headers = await make_api_key(app, db_session, acme, [Scope.CATALOG_READ])
    assert api_key.last_used_at is None
    # A key may not manage keys, but it is authenticated (403, not 401).
    denied = await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=headers)
    assert denied.status_code == 403
    # Any successful call with the key records its use.
    response = await client.post(
        "/api/v1/auth/otp/request", json={"email": "a@example.com"}, headers=headers
    )
    assert response.status_code == 202
    await db_session.refresh(api_key)
    assert api_key.last_used_at is not None


async def test_revoked_key_stops_working_immediately(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    headers = await owner_headers(app, db_session, acme)
    api_key, key_headers = await make_api_key(app, db_session, acme, [Scope.CATALOG_READ])
    revoked = await client.delete(
        f"/api/v1/companies/{acme.id}/api-keys/{api_key.id}", headers=headers
    )
    assert revoked.status_code == 204
    response = await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=key_headers)
    assert response.status_code == 401
    listed = (await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=headers)).json()
    assert listed[0]["revoked_at"] is not None


async def test_expired_key_is_401(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    api_key, headers = await make_api_key(app, db_session, acme, [Scope.CATALOG_READ])
    await db_session.execute(
        update(ApiKey)
        .where(ApiKey.id == api_key.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    "key", ["garbage", "mk_short_secret", "mk_aaaaaaaaaaaa_wrong-secret", "mk_" + "a" * 200]
)
async def test_invalid_keys_are_401(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(
        "/api/v1/auth/otp/request", json={"email": "a@example.com"}, headers={"X-API-Key": key}
    )
    assert response.status_code == 401


async def test_key_with_right_prefix_but_wrong_secret_is_401(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    api_key, _ = await make_api_key(app, db_session, acme, [Scope.CATALOG_READ])
    forged = {"X-API-Key": f"mk_{api_key.prefix}_{'x' * 43}"}
    assert (await client.get("/api/v1/me", headers=forged)).status_code == 401


async def test_key_cannot_act_for_another_company(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    other = await make_company(db_session, name="Other Co")
    _, headers = await make_api_key(
        app, db_session, other, [Scope.CATALOG_READ, Scope.WEBHOOKS_MANAGE]
    )
    response = await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=headers)
    assert response.status_code == 404


async def test_keys_are_not_users(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    _, headers = await make_api_key(app, db_session, acme, list(Scope))
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 403
    assert me.json()["type"] == "urn:marketplace:problem:api-key-not-allowed"


# Authorisation matrix for every API-key endpoint.
ALLOWED = {"owner", "admin"}
CALLERS = [
    "anonymous",
    "other_company",
    "owner",
    "admin",
    "purchaser",
    "sales",
    "viewer",
    "staff",
    "api_key",
]


async def headers_for(
    caller: str, app: FastAPI, session: AsyncSession, company: Company
) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "api_key":
        return (await make_api_key(app, session, company, list(Scope)))[1]
    if caller == "staff":
        return await bearer_headers(app, session, await make_user(session, is_staff=True))
    user = await make_user(session)
    if caller == "other_company":
        other = await make_company(session)
        await add_member(session, other, user, "owner")
        return await bearer_headers(app, session, user)
    await add_member(session, company, user, caller)
    return await bearer_headers(app, session, user)


def expected_status(caller: str, allowed: int) -> int:
    return {
        "anonymous": 401,
        "other_company": 404,
        "staff": 404,
        "api_key": 403,
    }.get(caller, allowed if caller in ALLOWED else 403)


@pytest.mark.parametrize("caller", CALLERS)
async def test_create_key_matrix(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, caller: str
) -> None:
    headers = await headers_for(caller, app, db_session, acme)
    before = await db_session.scalar(select(func.count()).select_from(ApiKey))
    response = await client.post(
        f"/api/v1/companies/{acme.id}/api-keys",
        json={"name": "k", "scopes": ["catalog:read"]},
        headers=headers,
    )
    assert response.status_code == expected_status(caller, 201), response.text
    after = await db_session.scalar(select(func.count()).select_from(ApiKey))
    assert after == before + (1 if response.status_code == 201 else 0)


@pytest.mark.parametrize("caller", CALLERS)
async def test_list_keys_matrix(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, caller: str
) -> None:
    await make_api_key(app, db_session, acme, [Scope.CATALOG_READ], name="existing")
    headers = await headers_for(caller, app, db_session, acme)
    response = await client.get(f"/api/v1/companies/{acme.id}/api-keys", headers=headers)
    assert response.status_code == expected_status(caller, 200)
    if response.status_code != 200:
        assert "existing" not in response.text


@pytest.mark.parametrize("caller", CALLERS)
async def test_revoke_key_matrix(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, caller: str
) -> None:
    target, _ = await make_api_key(app, db_session, acme, [Scope.CATALOG_READ], name="target")
    headers = await headers_for(caller, app, db_session, acme)
    response = await client.delete(
        f"/api/v1/companies/{acme.id}/api-keys/{target.id}", headers=headers
    )
    assert response.status_code == expected_status(caller, 204)
    await db_session.refresh(target)
    assert (target.revoked_at is not None) == (response.status_code == 204)


async def test_revoking_another_companys_key_is_404(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, acme: Company
) -> None:
    other = await make_company(db_session)
    foreign, _ = await make_api_key(app, db_session, other, [Scope.CATALOG_READ])
    headers = await owner_headers(app, db_session, acme)
    response = await client.delete(
        f"/api/v1/companies/{acme.id}/api-keys/{foreign.id}", headers=headers
    )
    assert response.status_code == 404
    await db_session.refresh(foreign)
    assert foreign.revoked_at is None
    unknown = await client.delete(
        f"/api/v1/companies/{acme.id}/api-keys/{uuid.uuid4()}", headers=headers
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "scopes": []},
        {"name": "k", "scopes": ["catalog:admin"]},
        {"name": "k", "scopes": ["catalog:read", "catalog:read"]},
        {"name": "", "scopes": ["catalog:read"]},
        {"name": "x" * 121, "scopes": ["catalog:read"]},
        {"name": "k", "scopes": ["catalog:read"], "expires_at": "2000-01-01T00:00:00Z"},
        {"name": "k", "scopes": ["catalog:read"], "expires_at": "2999-01-01T00:00:00"},
        {"name": "k", "scopes": ["catalog:read"], "company_id": str(uuid.uuid4())},
        {"name": "k", "scopes": ["catalog:read"], "key_hash": "abc"},
    ],
)
async def test_bad_key_requests_are_422_and_write_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    acme: Company,
    body: dict[str, object],
) -> None:
    headers = await owner_headers(app, db_session, acme)
    response = await client.post(
        f"/api/v1/companies/{acme.id}/api-keys", json=body, headers=headers
    )
    assert response.status_code == 422
    assert await keys_of(db_session, acme) == []
