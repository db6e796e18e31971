from __future__ import annotations

import json

import httpx
import pytest

from marketplace.settings import Settings
from tests.conftest import client_for, make_settings, production_settings, started_app


async def test_generated_request_id_is_returned(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_valid_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "lb-7f3a9c21-0001"})
    assert response.headers["x-request-id"] == "lb-7f3a9c21-0001"


@pytest.mark.parametrize(
    "incoming", ["short", "has spaces in it", "<script>alert(1)</script>", "x" * 200]
)
async def test_invalid_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] != incoming
    assert len(response.headers["x-request-id"]) == 32


async def test_access_log_line_is_structured_json_with_the_request_id(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    json_settings = make_settings(
        database_url=settings.database_url.get_secret_value() if settings.database_url else None,
        log_format="json",
        log_level="INFO",
    )
    async for app in started_app(json_settings):
        async with client_for(app) as client:
            capsys.readouterr()
            await client.get("/health/live?probe=1", headers={"X-Request-ID": "trace-abc-12345"})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "trace-abc-12345"
    assert entry["method"] == "GET"
    assert entry["path"] == "/health/live"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)
    assert entry["client"] == "127.0.0.1"
    assert entry["level"] == "info"
    assert "timestamp" in entry


async def test_security_headers_are_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health/live"), await client.get("/missing")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers


async def test_production_adds_hsts(settings: Settings) -> None:
    production = production_settings(
        database_url=settings.database_url.get_secret_value() if settings.database_url else None,
    )
    async for app in started_app(production):
        async with client_for(app) as client:
            response = await client.get("/health/live")
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")


async def test_api_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = await client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "B2B Marketplace API"
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert "cdn.jsdelivr.net" not in docs.headers["content-security-policy"]
    redoc = await client.get("/api/redoc")
    assert redoc.status_code == 200
    assert "redoc" in redoc.text.lower()
