"""The OpenAPI schema documents every status a route answers, with the problem body."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from marketplace.core.errors import PROBLEM_CONTENT_TYPE, Conflict, install_exception_handlers
from marketplace.core.openapi import install_openapi, problems
from tests.conftest import UndocumentedStatus, client_for

PROBLEM = {"$ref": "#/components/schemas/Problem"}


async def schema_of(client: httpx.AsyncClient) -> dict[str, object]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    schema: dict[str, object] = response.json()
    return schema


async def test_every_error_response_is_a_problem(client: httpx.AsyncClient) -> None:
    schema = await schema_of(client)
    components = schema["components"]["schemas"]  # type: ignore[index]
    assert set(components["Problem"]["required"]) >= {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in components
    for path, methods in schema["paths"].items():  # type: ignore[attr-defined]
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                # Health keeps its report as the body of its 503.
                if int(status) >= 400 and path.startswith("/api/"):
                    assert response["content"] == {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM}}, (
                        method,
                        path,
                        status,
                    )


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        # Any API route: bad credentials, a blocked address, rate limits, the unexpected.
        ("get", "/api/v1/me", {"200", "401", "403", "429", "500"}),
        # A body: malformed JSON, too large, invalid; a path parameter: not found.
        (
            "patch",
            "/api/v1/products/{product_id}",
            {"200", "400", "401", "403", "404", "413", "422", "429", "500"},
        ),
        # Declared by the route: a slug already taken.
        ("post", "/api/v1/admin/categories", {"409"}),
    ],
)
async def test_statuses_are_documented_by_shape_and_by_route(
    client: httpx.AsyncClient, method: str, path: str, statuses: set[str]
) -> None:
    schema = await schema_of(client)
    documented = set(schema["paths"][path][method]["responses"])  # type: ignore[index]
    assert documented >= statuses


async def test_the_test_client_refuses_an_undocumented_status() -> None:
    app = FastAPI(title="undocumented statuses")

    @app.post("/documented", responses=problems(409))
    async def documented() -> None:
        raise Conflict()

    @app.post("/undocumented")
    async def undocumented() -> None:
        raise Conflict()

    install_exception_handlers(app)
    install_openapi(app)
    async with client_for(app) as client:
        assert (await client.post("/documented")).status_code == 409
        with pytest.raises(UndocumentedStatus, match="POST /undocumented answered 409"):
            await client.post("/undocumented")


async def test_a_credential_is_optional_exactly_where_anonymous_callers_are_served(
    client: httpx.AsyncClient,
) -> None:
    """Public routes list `{}` among their security alternatives (a credential is
    optional there; schemathesis's `ignored_auth` reads it so); routes that refuse
    anonymous callers do not."""
    paths = (await schema_of(client))["paths"]
    assert paths["/api/v1/products"]["get"]["security"] == [
        {},
        {"HTTPBearer": []},
        {"APIKeyHeader": []},
    ]
    assert {} in paths["/api/v1/auth/otp/request"]["post"]["security"]
    for path, method in (
        ("/api/v1/orders", "get"),
        ("/api/v1/me", "get"),
        ("/api/v1/admin/ip-rules", "get"),
    ):
        assert paths[path][method]["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}]
