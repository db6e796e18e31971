from __future__ import annotations

import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import (
    AMQP_URL,
    REDIS_URL,
    client_for,
    make_settings,
    require_service,
    started_app,
)

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/nowhere"


def _url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


async def get(settings: Settings, path: str) -> httpx.Response:
    async for app in started_app(settings):
        async with client_for(app) as client:
            return await client.get(path)
    raise AssertionError("app did not start")


async def test_all_components_up_with_external_services(settings: Settings) -> None:
    require_service("Redis", REDIS_URL, 6379)
    require_service("RabbitMQ", AMQP_URL, 5672)
    full = make_settings(database_url=_url(settings), redis_url=REDIS_URL, amqp_url=AMQP_URL)
    response = await get(full, "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["uptime_seconds"] >= 0
    for name in ("database", "cache", "broker"):
        component = body["components"][name]
        assert component["status"] == "ok", name
        assert component["mode"] == "external", name
        assert component["latency_ms"] >= 0


async def test_without_redis_and_broker_the_fallbacks_are_embedded(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["mode"] == "external"
    assert body["components"]["cache"]["mode"] == "embedded"
    assert body["components"]["broker"]["mode"] == "embedded"


async def test_redis_down_is_degraded_but_serving(settings: Settings) -> None:
    broken_cache = make_settings(
        database_url=_url(settings),
        redis_url="redis://127.0.0.1:1/0",
        health_check_timeout_seconds=1.0,
    )
    response = await get(broken_cache, "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["cache"]["status"] == "down"
    assert body["components"]["cache"]["mode"] == "external"
    assert body["components"]["database"]["status"] == "ok"


async def test_broker_down_is_degraded_but_serving(settings: Settings) -> None:
    broken_broker = make_settings(
        database_url=_url(settings),
        amqp_url="amqp://guest:guest@127.0.0.1:1/",
        health_check_timeout_seconds=1.0,
    )
    response = await get(broken_broker, "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["broker"]["status"] == "down"


async def test_database_down_is_503() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE, health_check_timeout_seconds=1.0)
    response = await get(broken, "/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["components"]["database"]["status"] == "down"
    assert "127.0.0.1:1" not in response.text


async def test_liveness_does_not_need_the_database() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE)
    response = await get(broken, "/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "current"}


async def test_not_ready_when_database_is_down() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE, health_check_timeout_seconds=1.0)
    response = await get(broken, "/health/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


async def test_not_ready_when_migrations_are_pending(postgres_server_url: str) -> None:
    import asyncpg

    from tests.conftest import _database_url_on

    name = "mp_test_unmigrated"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        unmigrated = make_settings(database_url=_database_url_on(postgres_server_url, name))
        response = await get(unmigrated, "/health/ready")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "pending"}


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
async def test_health_endpoints_are_documented(client: httpx.AsyncClient, path: str) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert path in schema["paths"]
