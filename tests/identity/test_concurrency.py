"""Races on real, committed data: many requests at once through the real sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import client_for, started_app
from tests.identity.conftest import codes_sent, last_code


@pytest.fixture
async def live_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Each request in its own pooled connection and transaction, committed for real."""
    async for app in started_app(settings):
        async with client_for(app) as client:
            yield client


async def sign_in(client: httpx.AsyncClient, outbox: Path, email: str) -> dict[str, str]:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": email})
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": last_code(outbox, email)},
    )
    assert verified.status_code == 200
    tokens: dict[str, str] = verified.json()
    return tokens


async def test_a_refresh_token_is_spent_once_under_concurrency(
    live_client: httpx.AsyncClient, outbox: Path
) -> None:
    tokens = await sign_in(live_client, outbox, f"race-{uuid.uuid4().hex[:6]}@example.com")
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            for _ in range(10)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1
    assert statuses.count(401) == 9
    assert 500 not in statuses


async def test_parallel_guesses_never_exceed_the_attempt_limit(
    live_client: httpx.AsyncClient, outbox: Path, settings: Settings, database_url: str
) -> None:
    email = f"guess-{uuid.uuid4().hex[:6]}@example.com"
    challenge = await live_client.post("/api/v1/auth/otp/request", json={"email": email})
    challenge_id = challenge.json()["challenge_id"]
    right = last_code(outbox, email)
    guesses = [f"{n:06d}" for n in range(30) if f"{n:06d}" != right][:20]
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/auth/otp/verify", json={"challenge_id": challenge_id, "code": guess}
            )
            for guess in guesses
        )
    )
    assert {response.status_code for response in responses} == {401}
    connection = await asyncpg.connect(database_url)
    try:
        attempts = await connection.fetchval(
            "SELECT attempts FROM otp_challenges WHERE id = $1", uuid.UUID(challenge_id)
        )
    finally:
        await connection.close()
    assert attempts == settings.otp_max_attempts


async def test_simultaneous_first_sign_ins_create_one_user(
    live_client: httpx.AsyncClient, outbox: Path, database_url: str
) -> None:
    email = f"twin-{uuid.uuid4().hex[:6]}@example.com"
    challenges = [
        (await live_client.post("/api/v1/auth/otp/request", json={"email": email})).json()
        for _ in range(2)
    ]
    codes = codes_sent(outbox, email)
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/auth/otp/verify",
                json={"challenge_id": challenge["challenge_id"], "code": code},
            )
            for challenge, code in zip(challenges, codes, strict=True)
        )
    )
    assert [response.status_code for response in responses] == [200, 200]
    connection = await asyncpg.connect(database_url)
    try:
        users = await connection.fetchval("SELECT count(*) FROM users WHERE email = $1", email)
    finally:
        await connection.close()
    assert users == 1
