"""No text the API accepts reaches the database with a NUL or another control character:
each is refused as a 422 problem naming the field (PostgreSQL cannot store NUL in text,
so before this it surfaced as a 500)."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.app import create_app
from marketplace.core.text import MULTI_LINE_PATTERN
from tests.conftest import make_settings
from tests.factories import bearer_headers, make_category, make_user
from tests.trade.conftest import ADDRESS, Market, build_market, order_body
from tests.trade.test_rfqs import future

NUL = "\u0000"


@pytest.fixture
async def market(app: FastAPI, db_session: AsyncSession) -> Market:
    return await build_market(app, db_session)


def assert_field_refused(response: httpx.Response, *loc: str | int) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:marketplace:problem:validation-failed"
    assert [error["loc"][-len(loc) :] for error in problem["errors"]] == [list(map(str, loc))]


async def place_order(client: httpx.AsyncClient, market: Market) -> dict[str, Any]:
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 10)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


def rfq_body(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Brackets",
        "items": [{"description": "Brackets B-12", "quantity": "200", "unit": "piece"}],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
        **overrides,
    }


async def published_rfq(client: httpx.AsyncClient, market: Market) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/rfqs", json=rfq_body(), headers=market.headers["purchaser"]
    )
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/rfqs/{created.json()['id']}/publish", headers=market.headers["purchaser"]
    )
    assert published.status_code == 200, published.text
    rfq: dict[str, Any] = published.json()
    return rfq


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/checkout"])
@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"po_number": f"PO{NUL}1"}, ("po_number",)),
        ({"notes": f"deliver{NUL}"}, ("notes",)),
        ({"shipping_address": {**ADDRESS, "postal_code": f"20{NUL}457"}}, ("postal_code",)),
    ],
)
async def test_nul_in_order_text_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    market: Market,
    path: str,
    change: dict[str, Any],
    loc: tuple[str, ...],
) -> None:
    headers = market.headers["owner"]
    if path == "/api/v1/checkout":
        line = await client.put(
            f"/api/v1/cart/lines/{market.bolts.id}", json={"quantity": "10"}, headers=headers
        )
        assert line.status_code == 200, line.text
        body: dict[str, Any] = {"shipping_address": ADDRESS, **change}
    else:
        body = order_body((market.bolts, 10), **change)
    assert_field_refused(await client.post(path, json=body, headers=headers), *loc)


async def test_nul_in_a_message_body_is_a_422(client: httpx.AsyncClient, market: Market) -> None:
    order = await place_order(client, market)
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=market.headers["owner"],
    )
    assert thread.status_code == 201, thread.text  # the order's first thread
    posted = await client.post(
        f"/api/v1/threads/{thread.json()['id']}/messages",
        json={"body": f"hello{NUL}"},
        headers=market.headers["owner"],
    )
    assert_field_refused(posted, "body")


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"description": f"brackets{NUL}"}, ("description",)),
        (
            {"items": [{"description": f"B-12{NUL}", "quantity": "200", "unit": "piece"}]},
            ("items", 0, "description"),
        ),
    ],
)
async def test_nul_in_rfq_text_is_a_422(
    client: httpx.AsyncClient, market: Market, change: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    response = await client.post(
        "/api/v1/rfqs", json=rfq_body(**change), headers=market.headers["purchaser"]
    )
    assert_field_refused(response, *loc)


@pytest.mark.parametrize("field", ["notes", "terms"])
async def test_nul_in_quote_text_is_a_422(
    client: httpx.AsyncClient, market: Market, field: str
) -> None:
    rfq = await published_rfq(client, market)
    response = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/quotes",
        json={
            "items": [{"rfq_item_id": rfq["items"][0]["id"], "unit_price": "1.50"}],
            "valid_until": future(),
            "lead_time_days": 5,
            field: f"see{NUL}",
        },
        headers=market.headers["supplier"],
    )
    assert_field_refused(response, field)


async def test_nul_in_a_transition_reason_is_a_422(
    client: httpx.AsyncClient, market: Market
) -> None:
    order = await place_order(client, market)
    response = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "reject", "reason": f"no{NUL}"},
        headers=market.headers["supplier"],
    )
    assert_field_refused(response, "reason")


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/api/v1/products?q=bolt%00", ("q",)),
        ("/api/v1/products?category=a%00b", ("category",)),
        ("/api/v1/products?attribute=size:M%008", ("attribute", 0)),
        ("/api/v1/products/facets?q=bolt%00", ("q",)),
        ("/api/v1/orders?status=placed%00", ("status",)),
        ("/api/v1/categories/a%00b", ("ref",)),
    ],
)
async def test_nul_in_a_query_or_path_parameter_is_a_422(
    client: httpx.AsyncClient, market: Market, url: str, loc: tuple[Any, ...]
) -> None:
    response = await client.get(url, headers=market.headers["owner"])
    assert_field_refused(response, *loc)


@pytest.mark.parametrize("value", ["foo", "PLACED", ""])
async def test_unknown_order_status_filter_is_a_422(
    client: httpx.AsyncClient, market: Market, value: str
) -> None:
    await place_order(client, market)
    response = await client.get(
        "/api/v1/orders", params={"status": value}, headers=market.headers["owner"]
    )
    assert_field_refused(response, "status")


# --- every route of the OpenAPI schema ---------------------------------------------

Schema = dict[str, Any]
# Strings whose type already refuses any control character: parsed into another value.
PARSED_FORMATS = frozenset({"uuid", "date", "date-time", "ipvanyaddress", "uri", "binary"})
CONTROL_CHARACTERS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]


def openapi() -> Schema:
    app = create_app(make_settings(database_url="postgresql://unused@127.0.0.1/unused"))
    return app.openapi()


SCHEMA = openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]


def resolve(schema: Schema) -> Schema:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def string_leaves(schema: Schema, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, Schema]]:
    """Every place in a request schema where a string goes, with its location as the
    problem's `errors[].loc` names it; a decimal (a number or a string) is a number."""
    schema = resolve(schema)
    alternatives = [resolve(each) for each in schema.get("anyOf", [])]
    if any(each.get("type") in ("number", "integer") for each in alternatives):
        return
    for alternative in alternatives:
        yield from string_leaves(alternative, loc)
    if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        yield loc, schema
    for name, field in schema.get("properties", {}).items():
        yield from string_leaves(field, (*loc, name))
    if isinstance(schema.get("items"), dict):
        yield from string_leaves(schema["items"], (*loc, 0))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from string_leaves({"type": "string"}, (*loc, "[key]"))
        yield from string_leaves(schema["additionalProperties"], (*loc, "[value]"))


def request_strings(operation: Schema) -> Iterator[tuple[str, Any, Schema]]:
    for parameter in operation.get("parameters", []):
        if parameter["in"] in ("query", "path"):
            for loc, leaf in string_leaves(parameter["schema"], (parameter["name"],)):
                yield parameter["in"], loc, leaf
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        for loc, leaf in string_leaves(content["schema"]):
            if leaf.get("format") != "binary" and "contentMediaType" not in leaf:  # files
                yield media_type, loc, leaf


def refuses_control_characters(pattern: str) -> bool:
    compiled = re.compile(pattern)
    allowed = "\t\n\r" if pattern == MULTI_LINE_PATTERN else ""
    return all(
        compiled.search(f"a{character}a") is None
        for character in CONTROL_CHARACTERS
        if character not in allowed
    )


def test_every_request_string_refuses_control_characters() -> None:
    """A request field or parameter declared as a plain `str` fails here: use
    `core.text.Text` or `MultilineText` (or a stricter pattern, or a parsed type)."""
    unguarded = [
        f"{method} {path} {where} {'.'.join(map(str, loc))}"
        for method, path, operation in OPERATIONS
        for where, loc, leaf in request_strings(operation)
        if leaf.get("format") not in PARSED_FORMATS
        and not refuses_control_characters(leaf.get("pattern", ""))
    ]
    assert unguarded == []


def example(schema: Schema) -> Any:
    """A small value of the schema's shape (not necessarily accepted: the NUL planted in
    it is what the request is about)."""
    schema = resolve(schema)
    if "anyOf" in schema:
        return example(next(each for each in schema["anyOf"] if each.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: example(field)
            for name, field in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return [example(schema["items"])] if schema.get("minItems") else []
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    return {
        "uuid": str(uuid.uuid4()),
        "date": datetime.now(UTC).date().isoformat(),
        "date-time": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }.get(schema.get("format", ""), "x")


def plant(body: Any, loc: tuple[Any, ...], value: str) -> Any:
    """`body` with `value` at `loc` (creating the containers on the way)."""
    body = copy.deepcopy(body) if body is not None else {}
    target = body
    for index, step in enumerate(loc):
        last = index == len(loc) - 1
        if step == "[key]":
            target[value] = "x"
            return body
        if step == "[value]":
            target["key"] = value
            return body
        if isinstance(step, int):
            while len(target) <= step:
                target.append({})
            if last:
                target[step] = value
            else:
                target = target[step]
            continue
        if last:
            target[step] = value
        else:
            following = loc[index + 1]
            if not isinstance(target.get(step), list | dict):
                target[step] = [] if isinstance(following, int) else {}
            target = target[step]
    return body


@pytest.fixture
async def callers(
    app: FastAPI, db_session: AsyncSession, client: httpx.AsyncClient
) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """A buyer, a supplier and staff, each with the ids of things they can reach, so
    that each request gets past authentication to validation and the handler."""
    market = await build_market(app, db_session)
    category = await make_category(db_session)
    order = await place_order(client, market)
    rfq = await published_rfq(client, market)
    thread = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order["id"]},
        headers=market.headers["owner"],
    )
    assert thread.status_code == 201, thread.text  # the order's first thread
    staff = await make_user(db_session, name="Staff", is_staff=True)
    shared = {
        "product_id": str(market.bolts.id),
        "order_id": order["id"],
        "rfq_id": rfq["id"],
        "thread_id": thread.json()["id"],
        "ref": category.slug,
        "ip": "203.0.113.9",
        "size": "thumb",
    }
    return {
        "buyer": (market.headers["owner"], {**shared, "company_id": str(market.buyer.id)}),
        "supplier": (
            market.headers["supplier"],
            {**shared, "company_id": str(market.supplier.id)},
        ),
        "staff": (
            await bearer_headers(app, db_session, staff),
            {**shared, "company_id": str(market.buyer.id)},
        ),
    }


def request_for(
    method: str, path: str, operation: Schema, where: str, loc: tuple[Any, ...], ids: dict[str, str]
) -> dict[str, Any]:
    """The request of `operation` with NUL planted at `loc` of `where`."""
    poisoned = f"x{NUL}y"
    path_values = {
        parameter["name"]: ids.get(parameter["name"], str(uuid.uuid4()))
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    query: dict[str, str] = {}
    if where == "path":
        path_values[loc[0]] = poisoned
    elif where == "query":
        query[loc[0]] = poisoned
    url = path.format(**{name: quote(value, safe="") for name, value in path_values.items()})
    request: dict[str, Any] = {"method": method, "url": url, "params": query}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = example(content["application/json"]["schema"])
        if where == "application/json":
            body = plant(body, loc, poisoned)
        request["json"] = body
    elif "multipart/form-data" in content:
        form = resolve(content["multipart/form-data"]["schema"])
        request["files"] = {
            name: ("file.csv", b"a,b\n", "text/csv")
            for name, field in form.get("properties", {}).items()
            if field.get("format") == "binary" or "contentMediaType" in field
        }
        if where == "multipart/form-data":
            request["data"] = {loc[0]: poisoned}
    return request


async def test_nul_anywhere_in_any_request_is_never_a_server_error(
    client: httpx.AsyncClient, callers: dict[str, tuple[dict[str, str], dict[str, str]]]
) -> None:
    """Every string field and query or path parameter of every route, with NUL in it, as
    a buyer, a supplier and staff: never a 5xx, never accepted, and a 422 names the field.
    (One test, so that the market is built once for about a thousand requests.)"""
    wrong = []
    sent = 0
    for method, path, operation in OPERATIONS:
        for where, loc, _leaf in request_strings(operation):
            for caller, (headers, ids) in callers.items():
                request = request_for(method, path, operation, where, loc, ids)
                response = await client.request(headers=headers, **request)
                sent += 1
                problem = f"{method} {path} {where} {loc} as {caller}: {response.status_code}"
                if response.status_code >= 500 or response.is_success:
                    wrong.append(f"{problem} {response.text[:200]}")
                elif response.status_code == 422:
                    named = [tuple(error["loc"]) for error in response.json()["errors"]]
                    if not any(tuple(map(str, loc)) == error[-len(loc) :] for error in named):
                        wrong.append(f"{problem} names {named}, not the field")
    assert wrong == []
    assert sent > 900  # every route was walked
