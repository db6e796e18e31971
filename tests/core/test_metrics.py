from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from marketplace.settings import Settings
from tests.conftest import client_for, make_settings, production_settings, started_app

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


@pytest.fixture
async def limited_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Anonymous requests limited to two a minute, bodies to 2 KiB."""
    assert settings.database_url is not None
    limited = make_settings(
        database_url=settings.database_url.get_secret_value(),
        rate_limit_anonymous="2/minute",
        max_request_body_bytes=2048,
    )
    async for app in started_app(limited):
        async with client_for(app) as client:
            yield client


async def test_requests_refused_before_routing_are_counted_by_their_route_template(
    limited_client: httpx.AsyncClient,
) -> None:
    """The rate limit answers before the router runs: its 429s are counted under the
    route that was asked for, not lost in <unmatched>. So is a body refused for its
    declared size."""
    product = "00000000-0000-4000-8000-000000000000"
    statuses = [
        (await limited_client.get(f"/api/v1/products/{product}")).status_code for _ in range(3)
    ]
    assert statuses == [404, 404, 429]
    too_large = await limited_client.post(
        "/api/v1/orders",
        content=b"{}",
        headers={"Content-Length": "4096", "Authorization": "Bearer x"},
    )
    assert too_large.status_code == 413
    # Refused too (429), and matches no route. (Only the API is limited per address.)
    await limited_client.get("/api/v1/no/such/route")

    text = (await limited_client.get("/metrics")).text
    template = "/api/v1/products/{product_id:uuid}"
    assert sample(text, "http_requests_total", route=template, status="404") == 2
    assert sample(text, "http_requests_total", route=template, status="429") == 1
    assert sample(text, "http_requests_total", route="/api/v1/orders", status="413") == 1
    assert sample(text, "http_requests_total", route="<unmatched>", status="429") == 1
    assert sample(text, "http_request_duration_seconds_count", route=template) == 3


METRICS_TOKEN = "metrics-token-" + "0123456789" * 3


async def scrape(settings: Settings, **headers: str) -> httpx.Response:
    response = None
    async for app in started_app(settings):  # to its end: the app shuts down cleanly
        async with client_for(app) as client:
            response = await client.get("/metrics", headers=headers)
    assert response is not None
    return response


async def test_production_serves_metrics_only_with_a_token(settings: Settings) -> None:
    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()

    hidden = await scrape(production_settings(database_url=url))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert "http_requests_total" not in hidden.text

    guarded = production_settings(database_url=url, metrics_token=METRICS_TOKEN)
    anonymous = await scrape(guarded)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "http_requests_total" not in anonymous.text
    wrong = await scrape(guarded, Authorization=f"Bearer {METRICS_TOKEN}x")
    assert wrong.status_code == 401
    scheme = await scrape(guarded, Authorization=f"Basic {METRICS_TOKEN}")
    assert scheme.status_code == 401
    allowed = await scrape(guarded, Authorization=f"Bearer {METRICS_TOKEN}")
    assert allowed.status_code == 200
    assert "http_requests_total" in allowed.text


async def test_outside_production_a_configured_token_is_required_too(settings: Settings) -> None:
    assert settings.database_url is not None
    guarded = make_settings(
        database_url=settings.database_url.get_secret_value(), metrics_token=METRICS_TOKEN
    )
    assert (await scrape(guarded)).status_code == 401
    assert (await scrape(guarded, Authorization=f"Bearer {METRICS_TOKEN}")).status_code == 200
