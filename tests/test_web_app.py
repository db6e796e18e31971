"""The app's web build served at `/` by the API (`web_app.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from marketplace.settings import Settings
from marketplace.web_app import IMMUTABLE, WEB_APP_CSP
from tests.conftest import client_for, make_settings, started_app

INDEX = "<!DOCTYPE html><html><body><div id='root'></div></body></html>"


@pytest.fixture
def web_build(tmp_path: Path) -> Path:
    (tmp_path / "_expo" / "static" / "js" / "web").mkdir(parents=True)
    (tmp_path / "_expo" / "static" / "js" / "web" / "entry-abc123.js").write_text("run();")
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    return tmp_path


@pytest.fixture
async def web_client(web_build: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings: Settings = make_settings(database_url=database_url, web_app_dir=web_build)
    app: FastAPI
    async for app in started_app(settings):
        async with client_for(app) as client:
            yield client


async def test_the_page_is_served_at_the_root_and_at_every_app_route(
    web_client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/search?q=bolt", "/orders/5f1c", "/products/abc/"):
        response = await web_client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-security-policy"] == WEB_APP_CSP


async def test_bundles_are_cached_for_a_year_and_files_are_served(
    web_client: httpx.AsyncClient,
) -> None:
    bundle = await web_client.get("/_expo/static/js/web/entry-abc123.js")
    assert bundle.status_code == 200
    assert bundle.text == "run();"
    assert bundle.headers["cache-control"] == IMMUTABLE
    assert (await web_client.get("/favicon.ico")).content == b"\x00\x00\x01\x00"
    assert (await web_client.get("/_expo/static/js/web/missing.js")).status_code == 404


async def test_the_api_keeps_its_own_answers(web_client: httpx.AsyncClient) -> None:
    unknown = await web_client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (await web_client.get("/health/live")).json()["status"] == "ok"
    assert (await web_client.get("/api/openapi.json")).status_code == 200
    # A write to the page is not a page: the method is refused, nothing is served.
    assert (await web_client.post("/search")).status_code == 405


async def test_nothing_outside_the_build_is_reachable(web_client: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = await web_client.get(path)
        assert "outside the build" not in response.text, path


async def test_without_a_build_the_root_is_not_the_page(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url=database_url, web_app_dir=tmp_path / "missing")
    async for app in started_app(settings):
        async with client_for(app) as client:
            response = await client.get("/")
            assert response.status_code == 307
            assert response.headers["location"] == "/api/docs"
