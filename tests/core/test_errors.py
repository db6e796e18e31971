"""Every error is an RFC 9457 problem, translated, with the request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from marketplace.core.deps import SessionDep
from marketplace.core.errors import Conflict, ValidationFailed
from marketplace.core.openapi import problems
from marketplace.settings import Settings
from tests.conftest import client_for, make_settings, started_app

probe = APIRouter(prefix="/api/v1/_probe")


class ProbeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=20)
    quantity: int = Field(gt=0)


@probe.post("/items")
async def create_item(item: ProbeItem) -> dict[str, Any]:
    return {"name": item.name, "quantity": item.quantity}


@probe.get("/conflict", responses=problems(409))
async def conflict() -> None:
    raise Conflict()


@probe.get("/indexed-field", responses=problems(422))
async def indexed_field() -> None:
    # What services write when they name a list item: its index, an int.
    raise ValidationFailed(
        errors=[{"loc": ["body", "lines", 0, "rfq_item_id"], "msg": "unknown", "type": "unknown"}]
    )


# Temporary tables dropped with the (rolled back) transaction of the request.
_PROBE_TABLE = (
    "CREATE TEMP TABLE probe_owner (id int PRIMARY KEY) ON COMMIT DROP;"
    " CREATE TEMP TABLE probe_unique (value int CONSTRAINT uq_probe_unique_value UNIQUE,"
    " owner_id int REFERENCES probe_owner (id)) ON COMMIT DROP"
)


@probe.post("/duplicate", responses=problems(409))
async def duplicate(session: SessionDep) -> None:
    for statement in _PROBE_TABLE.split(";"):
        await session.execute(text(statement))
    await session.execute(text("INSERT INTO probe_unique (value) VALUES (1), (1)"))


@probe.post("/duplicate-on-the-driver", responses=problems(409))
async def duplicate_on_the_driver(session: SessionDep) -> None:
    await session.execute(text("SELECT 1"))  # the session's transaction begins
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection
    assert driver is not None
    await driver.execute(_PROBE_TABLE)
    await driver.execute("INSERT INTO probe_unique (value) VALUES (2), (2)")


@probe.post("/missing-reference")
async def missing_reference(session: SessionDep) -> None:
    for statement in _PROBE_TABLE.split(";"):
        await session.execute(text(statement))
    await session.execute(text("INSERT INTO probe_unique (owner_id) VALUES (7)"))


@probe.get("/crash")
async def crash() -> None:
    raise RuntimeError("SELECT password_hash FROM users WHERE id = 1")


@pytest.fixture
async def probe_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    tight = make_settings(
        database_url=settings.database_url.get_secret_value() if settings.database_url else None,
        max_request_body_bytes=2048,
    )
    async for app in started_app(tight):
        app.include_router(probe)
        async with client_for(app) as client:
            yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id", "errors"}
    assert body["status"] == status
    assert body["type"] == f"urn:marketplace:problem:{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == "/api/v1/does-not-exist"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_a_400_problem(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/_probe/items",
        content=b'{"name": "bolt", "quantity": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 400, "malformed-json")
    assert body["errors"][0]["type"] == "json_invalid"


async def test_wrong_types_list_every_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/_probe/items", json={"name": "x" * 21, "quantity": "many", "price": 1}
    )
    body = assert_problem(response, 422, "validation-failed")
    errors = {tuple(error["loc"]): error for error in body["errors"]}
    assert set(errors) == {("body", "name"), ("body", "quantity"), ("body", "price")}
    assert errors[("body", "name")]["type"] == "string_too_long"
    assert errors[("body", "name")]["msg"] == "String should have at most 20 characters"
    assert errors[("body", "quantity")]["type"] == "int_parsing"
    assert errors[("body", "price")]["type"] == "extra_forbidden"


async def test_negative_quantity_is_rejected(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/api/v1/_probe/items", json={"name": "a", "quantity": -1})
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {
            "loc": ["body", "quantity"],
            "msg": "Input should be greater than 0",
            "type": "greater_than",
        }
    ]


async def test_declared_oversized_body_is_a_413_problem(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/_probe/items",
        content=b'{"name": "' + b"a" * 5000 + b'", "quantity": 1}',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 413, "payload-too-large")
    assert "2048" in body["detail"]


async def test_streamed_oversized_body_is_a_413_problem(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a" * 500

    response = await probe_client.post(
        "/api/v1/_probe/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_a_field_location_is_strings_as_the_schema_says(
    probe_client: httpx.AsyncClient,
) -> None:
    """`FieldProblem.loc` is a list of strings; schemathesis found the award's 422 naming
    `["body", "lines", 0, "rfq_item_id"]` with an int, which no schema-typed client reads."""
    body = assert_problem(
        await probe_client.get("/api/v1/_probe/indexed-field"), 422, "validation-failed"
    )
    assert body["errors"] == [
        {"loc": ["body", "lines", "0", "rfq_item_id"], "msg": "unknown", "type": "unknown"}
    ]


async def test_domain_error_renders_its_status(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/api/v1/_probe/conflict")
    assert_problem(response, 409, "conflict")


async def test_unhandled_error_leaks_nothing(
    probe_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await probe_client.get(
        "/api/v1/_probe/crash", headers={"X-Request-ID": "crash-request-0001"}
    )
    body = assert_problem(response, 500, "internal-error")
    assert body["request_id"] == "crash-request-0001"
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    logged = capsys.readouterr().out
    assert "Traceback" in logged
    assert "crash-request-0001" in logged


@pytest.mark.parametrize("path", ["duplicate", "duplicate-on-the-driver"])
async def test_a_unique_violation_no_service_foresaw_is_a_409_problem(
    probe_client: httpx.AsyncClient, path: str
) -> None:
    response = await probe_client.post(f"/api/v1/_probe/{path}")
    assert_problem(response, 409, "conflict")
    assert "uq_probe_unique_value" not in response.text
    assert "INSERT" not in response.text
    # The failed transaction was rolled back: the service goes on serving.
    assert (
        await probe_client.post("/api/v1/_probe/items", json={"name": "a", "quantity": 1})
    ).status_code == 200


async def test_other_integrity_errors_stay_server_errors(probe_client: httpx.AsyncClient) -> None:
    """A missing reference means a service let bad input through: not a client's conflict."""
    response = await probe_client.post("/api/v1/_probe/missing-reference")
    assert_problem(response, 500, "internal-error")
    assert "fk_" not in response.text


@pytest.mark.parametrize(
    ("accept_language", "language", "title"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Nicht gefunden"),
        ("fr", "fr", "Introuvable"),
        ("es-MX", "es", "No encontrado"),
        ("ja, en;q=0.1", "en", "Not found"),
        ("", "en", "Not found"),
    ],
)
async def test_problems_follow_accept_language(
    client: httpx.AsyncClient, accept_language: str, language: str, title: str
) -> None:
    response = await client.get("/api/v1/nowhere", headers={"Accept-Language": accept_language})
    body = assert_problem(response, 404, "not-found")
    assert body["title"] == title
    assert response.headers["content-language"] == language


async def test_field_messages_are_translated(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/_probe/items",
        json={"name": "x" * 21, "quantity": 1},
        headers={"Accept-Language": "de"},
    )
    body = assert_problem(response, 422, "validation-failed")
    assert body["title"] == "Validierung fehlgeschlagen"
    assert body["errors"][0]["msg"] == "Der Text darf höchstens 20 Zeichen lang sein"


async def test_service_keeps_serving_after_bad_input(probe_client: httpx.AsyncClient) -> None:
    for payload in (b"\xff\xfe", b"[", b"null", b'{"name": null}'):
        response = await probe_client.post(
            "/api/v1/_probe/items", content=payload, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500
    ok = await probe_client.post("/api/v1/_probe/items", json={"name": "bolt", "quantity": 2})
    assert ok.status_code == 200
    assert ok.json() == {"name": "bolt", "quantity": 2}
