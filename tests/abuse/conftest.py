"""Abuse-protection tests run the whole application against real PostgreSQL and Redis.

Unlike most API tests, these commit: the IP-rule middleware reads rules through the
platform's own database connections, which cannot see a test's open transaction.
Everything a test commits is recognisable (`@abuse-tests.example.com` addresses, `abuse-`
company names, every IP rule) and deleted afterwards, as are its Redis keys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from marketplace.companies.permissions import Scope
from marketplace.core.db import to_async_url
from marketplace.settings import Settings
from tests.conftest import REDIS_URL, _port_open, make_settings, require_service, started_app
from tests.factories import bearer_headers, make_api_key, make_company, make_user

EMAIL_DOMAIN = "abuse-tests.example.com"
# Generous everywhere, so that a test trips only the limit it sets small.
ROOMY = "1000/hour"

Sessions = Callable[[], AsyncSession]


@pytest.fixture
def redis_prefix() -> str:
    return f"mp-abuse-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
def abuse_settings(database_url: str, redis_prefix: str, outbox: Path) -> Callable[..., Settings]:
    """Settings against Redis with roomy limits; a test passes the ones it exercises."""
    require_service("Redis", REDIS_URL, 6379)

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": REDIS_URL,
            "redis_key_prefix": redis_prefix,
            "email_transport": "file",
            "sms_transport": "file",
            "notification_file_path": outbox,
            "auth_otp_bypass_code": None,
            "rate_limit_anonymous": ROOMY,
            "rate_limit_user": ROOMY,
            "rate_limit_api_key": ROOMY,
            "rate_limit_otp_per_destination": ROOMY,
            "rate_limit_otp_per_ip": ROOMY,
            "ip_autoblock_threshold": 1000,
            "ip_autoblock_window_seconds": 3600,
            "ip_autoblock_seconds": 900,
        }
        values.update(overrides)
        return make_settings(**values)

    return build


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions whose commits are real; what the test committed is removed afterwards."""
    engine = create_async_engine(to_async_url(database_url))
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM ip_rules"))
        await connection.execute(
            text("DELETE FROM otp_challenges WHERE destination LIKE :pattern"),
            {"pattern": f"%@{EMAIL_DOMAIN}"},
        )
        await connection.execute(text("DELETE FROM companies WHERE name LIKE 'abuse-%'"))
        await connection.execute(
            text("DELETE FROM users WHERE email LIKE :pattern"), {"pattern": f"%@{EMAIL_DOMAIN}"}
        )
    await engine.dispose()


@pytest.fixture(autouse=True)
async def _forget_redis_keys(redis_prefix: str) -> AsyncIterator[None]:
    yield
    if not _port_open(REDIS_URL, 6379):
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=redis_prefix + "*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """The application started with its real request sessions (nothing overridden)."""
    async for app in started_app(settings):
        yield app


def client_from(app: FastAPI, address: str = "127.0.0.1", **kwargs: Any) -> httpx.AsyncClient:
    """A client connecting from `address` (the direct peer the server sees)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)),
        base_url="http://testserver",
        **kwargs,
    )


def email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@{EMAIL_DOMAIN}"


async def signed_in_user(
    app: FastAPI, sessions: Sessions, *, is_staff: bool = False
) -> dict[str, str]:
    async with sessions() as session:
        user = await make_user(
            session, email=email("staff" if is_staff else "user"), is_staff=is_staff
        )
        headers = await bearer_headers(app, session, user)
        await session.commit()
    return headers


async def api_key_headers(app: FastAPI, sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        owner = await make_user(session, email=email("owner"))
        company = await make_company(session, name=f"abuse-{uuid.uuid4().hex[:8]}", owner=owner)
        _key, headers = await make_api_key(app, session, company, [Scope.CATALOG_READ])
        await session.commit()
    return headers


def last_code(outbox: Path, to: str) -> str:
    messages = [json.loads(line) for line in outbox.read_text().splitlines()]
    body = next(message["body"] for message in reversed(messages) if message["to"] == to)
    return next(
        word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )


def assert_limit_headers(response: httpx.Response, limit: int, remaining: int) -> None:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == str(remaining)
    assert 0 < int(response.headers["ratelimit-reset"]) <= 3600
