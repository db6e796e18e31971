from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from marketplace.settings import Settings
from tests.conftest import client_for, started_app

probe = APIRouter(prefix="/api/v1/_probe")


@probe.get("/things/{thing_id}")
async def get_thing(thing_id: int) -> dict[str, int]:
    return {"id": thing_id}


@pytest.fixture
async def metrics_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for app in started_app(settings):
        app.include_router(probe)
        async with client_for(app) as client:
            yield client


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        match = re.fullmatch(re.escape(name) + r"\{(.*)\} (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(2))
    return 0.0


async def test_requests_are_counted_by_route_template(metrics_client: httpx.AsyncClient) -> None:
    for thing_id in (1, 2, 3):
        assert (await metrics_client.get(f"/api/v1/_probe/things/{thing_id}")).status_code == 200
    assert (await metrics_client.get("/api/v1/_probe/things/nope")).status_code == 422
    await metrics_client.get("/no/such/route")

    response = await metrics_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    template = "/api/v1/_probe/things/{thing_id}"
    assert sample(text, "http_requests_total", route=template, status="200", method="GET") == 3
    assert sample(text, "http_requests_total", route=template, status="422") == 1
    assert sample(text, "http_requests_total", route="<unmatched>", status="404") == 1
    assert "/api/v1/_probe/things/1" not in text
    assert sample(text, "http_request_duration_seconds_count", route=template) == 4
    assert "http_requests_in_flight" in text
    assert sample(text, "db_pool_connections", state="size") >= 0
    assert 'db_pool_connections{state="checked_out"}' in text


async def test_routes_of_included_routers_are_counted_by_their_full_template(
    metrics_client: httpx.AsyncClient,
) -> None:
    """The domain routers are included in the /api/v1 router: a route knows only its own
    part of the path, the label must be the whole template."""
    product = "00000000-0000-4000-8000-000000000000"
    assert (await metrics_client.get(f"/api/v1/products/{product}")).status_code == 404
    text = (await metrics_client.get("/metrics")).text
    template = "/api/v1/products/{product_id:uuid}"
    assert sample(text, "http_requests_total", route=template, status="404") == 1
    assert 'route="/products/' not in text
