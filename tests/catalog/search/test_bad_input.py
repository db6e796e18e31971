"""Bad parameters are 4xx problems, never 500s, and never reach the database as syntax."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from marketplace.core.pagination import encode_cursor
from tests.catalog.search.conftest import Catalog

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("params", "status", "problem"),
    [
        ({"limit": "0"}, 422, "validation-failed"),
        ({"limit": "101"}, 422, "validation-failed"),
        ({"limit": "ten"}, 422, "validation-failed"),
        ({"cursor": "not-a-cursor"}, 400, "invalid-cursor"),
        ({"cursor": "x" * 501}, 422, "validation-failed"),
        ({"price_min": "10", "price_max": "5"}, 422, "invalid-price-range"),
        ({"price_min": "-1"}, 422, "validation-failed"),
        ({"price_max": "NaN"}, 422, "validation-failed"),
        ({"price_max": "Infinity"}, 422, "validation-failed"),
        ({"price_min": "1.00001"}, 422, "validation-failed"),
        ({"quantity": "0"}, 422, "validation-failed"),
        ({"quantity": "-5"}, 422, "validation-failed"),
        ({"sort": "cheapest"}, 422, "validation-failed"),
        ({"q": "x" * 201}, 422, "validation-failed"),
        ({"category": "no-such-category"}, 422, "unknown-category"),
        ({"supplier": "not-a-uuid"}, 422, "validation-failed"),
        ({"supplier_country": "DEU"}, 422, "validation-failed"),
        ({"currency": "E1R"}, 422, "validation-failed"),
        ({"in_stock": "maybe"}, 422, "validation-failed"),
        ({"attribute": "no-colon"}, 422, "invalid-attribute-filter"),
        ({"attribute": ":red"}, 422, "invalid-attribute-filter"),
        ({"attr.color": ""}, 422, "invalid-attribute-filter"),
    ],
)
async def test_bad_parameters_are_problems(
    client: httpx.AsyncClient,
    params: dict[str, str],
    status: int,
    problem: str,
) -> None:
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"].endswith(problem)
    assert body["status"] == status
    facets = await client.get("/api/v1/products/facets", params=params)
    if "limit" not in params and "cursor" not in params and "sort" not in params:
        assert facets.status_code == status, facets.text


async def test_too_many_attribute_filters(client: httpx.AsyncClient) -> None:
    params = [("attr.key" + str(number), "value") for number in range(11)]
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 422
    assert response.json()["type"].endswith("invalid-attribute-filter")


@pytest.mark.parametrize(
    "values",
    [
        ["newest", "not-a-date", "00000000-0000-0000-0000-000000000000"],
        ["newest", "2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"],  # no zone
        ["price_asc", "cheap", "00000000-0000-0000-0000-000000000000"],
        ["price_asc", "NaN", "00000000-0000-0000-0000-000000000000"],
        ["newest", "2026-01-01T00:00:00+00:00", "not-a-uuid"],
        ["relevance", "high", "00000000-0000-0000-0000-000000000000"],
        ["relevance", True, "00000000-0000-0000-0000-000000000000"],
        ["newest", "2026-01-01T00:00:00+00:00"],
    ],
)
async def test_forged_cursors_are_rejected(client: httpx.AsyncClient, values: list[object]) -> None:
    cursor = base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")
    sort = values[0] if isinstance(values[0], str) else "newest"
    params = {"cursor": cursor, "sort": sort}
    if sort == "relevance":
        params["q"] = "hex"
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("invalid-cursor")


async def test_a_well_formed_cursor_past_the_end_is_an_empty_page(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    cursor = encode_cursor("newest", "2000-01-01T00:00:00+00:00", catalog.products["drill"])
    response = await client.get("/api/v1/products", params={"cursor": cursor})
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_longest_allowed_query_is_served(client: httpx.AsyncClient, catalog: Catalog) -> None:
    words = " ".join(["hexagonal"] * 20)[:200]
    response = await client.get("/api/v1/products", params={"q": words})
    assert response.status_code == 200
