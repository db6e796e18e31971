"""OWASP API Security Top 10 (2023), the parts not already proven elsewhere:

- API2 broken authentication: a signed-out session's token and a revoked API key are
  401 on every operation of the OpenAPI (forged, expired, alg-none and wrong-key tokens
  in tests/identity/test_tokens.py; cookies and CSRF in test_browser_sessions.py);
- API3 mass assignment: every request body refuses fields it does not declare, and no
  body declares a server-owned field beyond the ones the SPEC gives the client;
- API4 unrestricted resource consumption: page size, body size, deep JSON, upload and
  CSV sizes are each a clear 4xx problem;
- API5 function-level authorisation: every staff route refuses everyone else, and the
  buyer-only and supplier-only actions refuse the other side and the read-only viewer.

BOLA (API1) is test_bola.py; SSRF (API7) tests/webhooks/test_ssrf.py and
test_delivery.py; misconfiguration (API8): CORS tests/core/test_cors.py, errors without
internals tests/core/test_errors.py, production refusing DEBUG
tests/core/test_settings.py; unsafe consumption (API10) test_webhook_responses.py.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from marketplace.settings import Settings
from tests.factories import bearer_headers, make_api_key
from tests.security.conftest import Tenant, World, security_settings

MAX_IMAGE_BYTES = 4096
MAX_IMPORT_BYTES = 4096


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return security_settings(
        database_url,
        tmp_path,
        max_image_bytes=MAX_IMAGE_BYTES,
        max_import_bytes=MAX_IMPORT_BYTES,
    )


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return sorted(
        (method.upper(), path, operation)
        for path, methods in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    )


def filled(path: str, tenant: Tenant, caller: str = "buyer") -> str:
    ids = dict(tenant.ids)
    if caller in {"supplier", "api_key"}:
        ids["company_id"] = ids["supplier_company_id"]
    ids.update(size="thumb", ip="203.0.113.9", rule_id=str(uuid.uuid4()))
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], path)


async def outbox_size(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0


# --- API2 broken authentication ----------------------------------------------------


async def test_credentials_that_stopped_working_are_401_on_every_operation(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    home = world.home
    signed_out = await bearer_headers(app, db_session, home.users["viewer"], home.buyer)
    out = await client.post("/api/v1/auth/logout", headers=signed_out)
    assert out.status_code == 204, out.text
    key, revoked_key = await make_api_key(app, db_session, home.supplier, ["orders:read"])
    revoked = await client.delete(
        f"/api/v1/companies/{home.supplier.id}/api-keys/{key.id}", headers=home.headers["supplier"]
    )
    assert revoked.status_code == 204, revoked.text
    before = await outbox_size(db_session)
    wrong = []
    for method, path, _operation in operations(app):
        for name, headers in (("signed-out token", signed_out), ("revoked key", revoked_key)):
            response = await client.request(method, filled(path, home), headers=headers)
            if response.status_code != 401:
                wrong.append(f"{method} {path} with a {name}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert await outbox_size(db_session) == before


# --- API3 mass assignment ----------------------------------------------------------

SERVER_OWNED = {
    "id",
    "company_id",
    "owner_id",
    "created_by",
    "status",
    "verification_status",
    "is_verified",
    "is_staff",
    "is_blocked",
    "total",
    "subtotal",
    "line_total",
    "number",
    "created_at",
    "updated_at",
    "published_at",
    "paid_at",
}
# Server-owned names a body declares because the SPEC gives them to the client.
DECLARED_BY_SPEC = {
    # A supplier publishes and archives its products (`draft`, `active`, `archived`).
    ("POST", "/api/v1/products", "status"),
    ("PATCH", "/api/v1/products/{product_id}", "status"),
}
INJECTED = {
    "id": "00000000-0000-4000-8000-000000000001",
    "company_id": "00000000-0000-4000-8000-000000000002",
    "supplier_id": "00000000-0000-4000-8000-000000000003",
    "buyer_id": "00000000-0000-4000-8000-000000000004",
    "status": "completed",
    "verification_status": "verified",
    "is_staff": True,
    "total": "0.01",
    "created_at": "2020-01-01T00:00:00Z",
}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _objects(schema: dict[str, Any], document: dict[str, Any], seen: set[int]) -> list[Any]:
    """Every object schema reachable from `schema`."""
    schema = _resolve(schema, document)
    if id(schema) in seen:
        return []
    seen.add(id(schema))
    found = [schema] if schema.get("type") == "object" or "properties" in schema else []
    children = [*schema.get("properties", {}).values()]
    for key in ("anyOf", "oneOf", "allOf"):
        children += schema.get(key, [])
    if "items" in schema:
        children.append(schema["items"])
    for child in children:
        found += _objects(child, document, seen)
    return found


def json_bodies(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation["requestBody"]["content"]["application/json"]["schema"])
        for method, path, operation in operations(app)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def test_no_body_accepts_undeclared_fields_or_declares_server_owned_ones(app: FastAPI) -> None:
    document = app.openapi()
    wrong = []
    for method, path, schema in json_bodies(app):
        for found in _objects(schema, document, set()):
            if found.get("additionalProperties") is not False and "properties" in found:
                wrong.append(f"{method} {path}: {found.get('title')} accepts any field")
            for name in set(found.get("properties", {})) & SERVER_OWNED:
                if (method, path, name) not in DECLARED_BY_SPEC:
                    wrong.append(f"{method} {path}: the client may set {name}")
    assert not wrong, "\n".join(wrong)


def caller_of(path: str) -> str:
    if path.startswith("/api/v1/admin/"):
        return "staff"
    supplier_side = ("/products", "/buyer-groups", "/price-lists", "/quotes", "/payments")
    return "supplier" if any(part in path for part in supplier_side) else "buyer"


async def test_server_owned_fields_in_any_body_are_refused_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    before = await outbox_size(db_session)
    document = app.openapi()
    wrong = []
    for method, path, schema in json_bodies(app):
        declared = set(_resolve(schema, document).get("properties", {}))
        injected = {key: value for key, value in INJECTED.items() if key not in declared}
        caller = caller_of(path)
        headers = world.home.headers[caller]
        response = await client.request(
            method, filled(path, world.home, caller), json=injected, headers=headers
        )
        refused = {
            error["loc"][-1]
            for error in response.json().get("errors", [])
            if error["type"] == "extra_forbidden"
        }
        if response.status_code != 422 or refused != set(injected):
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:300]}")
    assert not wrong, "\n".join(wrong)
    assert await outbox_size(db_session) == before


# --- API4 unrestricted resource consumption ------------------------------------------


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return problem


async def test_a_page_is_at_most_100_items_everywhere(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    wrong = []
    for method, path, operation in operations(app):
        if not any(parameter["name"] == "limit" for parameter in operation.get("parameters", [])):
            continue
        caller = "staff" if path.startswith("/api/v1/admin/") else caller_of(path)
        url = filled(path, world.home, caller)
        headers = world.home.headers[caller]
        over = await client.request(method, url, params={"limit": 101}, headers=headers)
        at_cap = await client.request(method, url, params={"limit": 100}, headers=headers)
        if over.status_code != 422 or at_cap.status_code != 200:
            wrong.append(f"{method} {path}: limit=101 {over.status_code}, 100 {at_cap.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_an_oversized_body_is_413(client: httpx.AsyncClient, world: World) -> None:
    body = json.dumps({"name": "x" * 2_000_000}).encode()
    response = await client.post(
        "/api/v1/products",
        content=body,
        headers={**world.home.headers["supplier"], "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("depth", [100, 10_000, 100_000])
async def test_deeply_nested_json_is_a_4xx_problem(
    client: httpx.AsyncClient, db_session: AsyncSession, world: World, depth: int
) -> None:
    before = await outbox_size(db_session)
    nested = '{"a":' * depth + "1" + "}" * depth
    body = (
        '{"sku":"DEEP-1","name":"Deep","unit":"piece","currency":"EUR",'
        '"price_tiers":[{"min_qty":"1","unit_price":"1.00"}],"attributes":' + nested + "}"
    )
    response = await client.post(
        "/api/v1/products",
        content=body.encode(),
        headers={**world.home.headers["supplier"], "Content-Type": "application/json"},
    )
    assert_problem(response, 422 if depth == 100 else 400)
    assert await outbox_size(db_session) == before


async def test_an_oversized_image_is_413(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        f"/api/v1/products/{world.home.ids['product_id']}/images",
        files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_IMAGE_BYTES, "image/png")},
        headers=world.home.headers["supplier"],
    )
    assert_problem(response, 413)


async def test_an_oversized_csv_import_is_413(client: httpx.AsyncClient, world: World) -> None:
    rows = "".join(f"S-{index},Name,piece,EUR,1:1\n" for index in range(400))
    response = await client.post(
        "/api/v1/products/import",
        files={"file": ("big.csv", ("sku,name,unit,currency,tiers\n" + rows).encode())},
        headers=world.home.headers["supplier"],
    )
    assert_problem(response, 413)
    assert world.runner.launched == [
        uuid.UUID(world.home.ids["job_id"]),
        uuid.UUID(world.foreign.ids["job_id"]),
    ]


# --- API5 function-level authorisation -------------------------------------------------

# Buyer-only and supplier-only actions, each with a valid body: who may not.
ONE_SIDED = {
    ("POST", "/api/v1/orders"): ("supplier", "viewer", "api_key_buyer_side"),
    ("POST", "/api/v1/checkout"): ("supplier", "viewer"),
    ("POST", "/api/v1/rfqs"): ("supplier", "viewer"),
    ("PUT", "/api/v1/cart/lines/{product_id}"): ("supplier", "viewer"),
    ("POST", "/api/v1/products"): ("buyer", "viewer"),
    ("POST", "/api/v1/buyer-groups"): ("buyer", "viewer"),
    ("POST", "/api/v1/price-lists"): ("buyer", "viewer"),
    ("POST", "/api/v1/products/import"): ("buyer", "viewer"),
    ("PATCH", "/api/v1/companies/{company_id}"): ("viewer",),
    ("POST", "/api/v1/companies/{company_id}/api-keys"): ("viewer", "api_key"),
    ("POST", "/api/v1/companies/{company_id}/webhooks"): ("viewer",),
}
BODIES: dict[str, Any] = {
    "/api/v1/orders": {
        "lines": [{"product_id": "{product_id}", "quantity": "1"}],
        "shipping_address": {
            "line1": "Hafenstrasse 1",
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        },
    },
    "/api/v1/checkout": {
        "shipping_address": {
            "line1": "Hafenstrasse 1",
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        }
    },
    "/api/v1/rfqs": {
        "title": "T",
        "items": [{"description": "D", "quantity": "1", "unit": "piece"}],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": "2099-01-01T00:00:00Z",
    },
    "/api/v1/cart/lines/{product_id}": {"quantity": "1"},
    "/api/v1/products": {
        "sku": "SIDE-1",
        "name": "Side",
        "unit": "piece",
        "currency": "EUR",
        "price_tiers": [{"min_qty": "1", "unit_price": "1.00"}],
    },
    "/api/v1/buyer-groups": {"name": "Side"},
    "/api/v1/price-lists": {"name": "Side"},
    "/api/v1/companies/{company_id}": {"description": "Side"},
    "/api/v1/companies/{company_id}/api-keys": {"name": "side", "scopes": ["orders:read"]},
    "/api/v1/companies/{company_id}/webhooks": {
        "url": "https://93.184.215.14/hooks",
        "event_types": ["*"],
    },
}


async def test_staff_routes_refuse_everyone_else(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    before = await outbox_size(db_session)
    wrong = []
    for method, path, _operation in operations(app):
        if not path.startswith("/api/v1/admin/"):
            continue
        for role, status in (
            ("anonymous", 401),
            ("buyer", 403),
            ("supplier", 403),
            ("viewer", 403),
            ("api_key", 403),
        ):
            response = await client.request(
                method, filled(path, world.home, role), headers=world.home.headers[role]
            )
            if response.status_code != status:
                wrong.append(f"{method} {path} as {role}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert await outbox_size(db_session) == before


async def test_one_sided_actions_refuse_the_other_side_and_the_viewer(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, world: World
) -> None:
    buyer_key = (await make_api_key(app, db_session, world.home.buyer, ["orders:read"]))[1]
    before = await outbox_size(db_session)
    headers = {**world.home.headers, "api_key_buyer_side": buyer_key}
    wrong = []
    for (method, path), refused in sorted(ONE_SIDED.items()):
        for role in refused:
            url = filled(path, world.home, role)
            body = json.loads(
                json.dumps(BODIES.get(path, {})).replace(
                    "{product_id}", world.home.ids["product_id"]
                )
            )
            if path.endswith("/import"):
                response = await client.post(
                    url, files={"file": ("c.csv", b"sku,name\n")}, headers=headers[role]
                )
            else:
                response = await client.request(method, url, json=body, headers=headers[role])
            if response.status_code != 403:
                wrong.append(
                    f"{method} {path} as {role}: {response.status_code} {response.text[:200]}"
                )
    assert not wrong, "\n".join(wrong)
    assert await outbox_size(db_session) == before
