"""Granting and revoking staff access, over HTTP and with `marketplace create-staff`."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from marketplace.cli import app as cli
from tests.conftest import TEST_SECRET_KEY
from tests.factories import bearer_headers, make_user

runner = CliRunner()


async def is_staff(session: AsyncSession, user_id: uuid.UUID) -> bool:
    value = await session.scalar(text("SELECT is_staff FROM users WHERE id = :id"), {"id": user_id})
    return bool(value)


@pytest.fixture
async def staff_headers(app: FastAPI, db_session: AsyncSession) -> tuple[uuid.UUID, dict[str, str]]:
    staff = await make_user(db_session, is_staff=True)
    return staff.id, await bearer_headers(app, db_session, staff)


async def test_staff_grant_and_revoke_staff_access(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    staff_headers: tuple[uuid.UUID, dict[str, str]],
) -> None:
    _staff_id, headers = staff_headers
    colleague = await make_user(db_session)
    colleague_headers = await bearer_headers(app, db_session, colleague)
    denied = await client.get("/api/v1/admin/companies", headers=colleague_headers)
    assert denied.status_code == 403

    granted = await client.post(f"/api/v1/admin/users/{colleague.id}/staff", headers=headers)
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"user_id": str(colleague.id), "is_staff": True}
    assert await is_staff(db_session, colleague.id)
    # Granting twice is harmless.
    again = await client.post(f"/api/v1/admin/users/{colleague.id}/staff", headers=headers)
    assert again.status_code == 200

    revoked = await client.delete(f"/api/v1/admin/users/{colleague.id}/staff", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json() == {"user_id": str(colleague.id), "is_staff": False}
    assert not await is_staff(db_session, colleague.id)


async def test_staff_cannot_revoke_themselves(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    staff_headers: tuple[uuid.UUID, dict[str, str]],
) -> None:
    staff_id, headers = staff_headers
    response = await client.delete(f"/api/v1/admin/users/{staff_id}/staff", headers=headers)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:marketplace:problem:cannot-revoke-own-staff"
    assert await is_staff(db_session, staff_id)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_an_unknown_user_is_not_found(
    client: httpx.AsyncClient, staff_headers: tuple[uuid.UUID, dict[str, str]], method: str
) -> None:
    _staff_id, headers = staff_headers
    response = await client.request(
        method, f"/api/v1/admin/users/{uuid.uuid4()}/staff", headers=headers
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "The user does not exist."


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path) -> str:  # type: ignore[no-untyped-def]
    for name in ("REDIS_URL", "AMQP_URL", "SENTRY_DSN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def _fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(database_url)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    return asyncio.run(run())


def test_create_staff_creates_the_user_and_makes_them_staff(cli_environment: str) -> None:
    email = f"Admin-{uuid.uuid4().hex[:6]}@Example.com"
    try:
        result = runner.invoke(cli, ["create-staff", email])
        assert result.exit_code == 0, result.output
        rows = _fetch(
            cli_environment, "SELECT id, is_staff FROM users WHERE email = $1", email.lower()
        )
        assert [row["is_staff"] for row in rows] == [True]
        assert f"{email.lower()} is staff (user {rows[0]['id']})" in result.output
        # Again: the same user, still staff.
        assert runner.invoke(cli, ["create-staff", email.lower()]).exit_code == 0
        assert (
            len(_fetch(cli_environment, "SELECT 1 FROM users WHERE email = $1", email.lower())) == 1
        )
    finally:
        _fetch(cli_environment, "DELETE FROM users WHERE email = $1 RETURNING id", email.lower())


def test_create_staff_promotes_an_existing_phone_user(cli_environment: str) -> None:
    phone = "+4915199887766"
    _fetch(cli_environment, "DELETE FROM users WHERE phone = $1 RETURNING id", phone)
    _fetch(cli_environment, "INSERT INTO users (phone) VALUES ($1) RETURNING id", phone)
    try:
        result = runner.invoke(cli, ["create-staff", "+49 151 99887766"])
        assert result.exit_code == 0, result.output
        rows = _fetch(cli_environment, "SELECT is_staff FROM users WHERE phone = $1", phone)
        assert [row["is_staff"] for row in rows] == [True]
    finally:
        _fetch(cli_environment, "DELETE FROM users WHERE phone = $1 RETURNING id", phone)


@pytest.mark.parametrize("value", ["not an address", "0151 1234567", "a@b"])
def test_create_staff_rejects_an_invalid_contact(cli_environment: str, value: str) -> None:
    result = runner.invoke(cli, ["create-staff", value])
    assert result.exit_code == 2
    assert "Invalid e-mail address or phone number" in result.output
