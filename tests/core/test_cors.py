from __future__ import annotations

import httpx

from marketplace.settings import Settings
from tests.conftest import client_for, make_settings, production_settings, started_app

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "Authorization, Content-Type, X-Company-ID",
}


async def preflight(settings: Settings, origin: str) -> httpx.Response:
    async for app in started_app(settings):
        async with client_for(app) as client:
            return await client.options("/api/v1/anything", headers={"Origin": origin, **PREFLIGHT})
    raise AssertionError("app did not start")


def _url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


async def test_development_allows_any_origin(settings: Settings) -> None:
    development = make_settings(environment="development", database_url=_url(settings))
    response = await preflight(development, "http://localhost:5173")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "3600"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "x-company-id" in response.headers["access-control-allow-headers"].lower()


async def test_debug_allows_any_origin_outside_development(settings: Settings) -> None:
    # Outside development and production (which refuses DEBUG): the test environment.
    debug = make_settings(environment="test", debug=True, database_url=_url(settings))
    response = await preflight(debug, "https://anything.example")
    assert response.headers["access-control-allow-origin"] == "https://anything.example"


async def test_production_allows_only_trusted_origins(settings: Settings) -> None:
    production = production_settings(
        trusted_origins="https://portal.example.com",
        database_url=_url(settings),
    )
    trusted = await preflight(production, "https://portal.example.com")
    assert trusted.status_code == 200
    assert trusted.headers["access-control-allow-origin"] == "https://portal.example.com"
    assert trusted.headers["access-control-max-age"] == "3600"

    untrusted = await preflight(production, "https://evil.example")
    assert untrusted.status_code == 400
    assert "access-control-allow-origin" not in untrusted.headers


async def test_simple_request_exposes_request_id(settings: Settings) -> None:
    production = production_settings(
        trusted_origins="https://portal.example.com",
        database_url=_url(settings),
    )
    async for app in started_app(production):
        async with client_for(app) as client:
            response = await client.get(
                "/health/live", headers={"Origin": "https://portal.example.com"}
            )
            other = await client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert response.headers["access-control-allow-origin"] == "https://portal.example.com"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
