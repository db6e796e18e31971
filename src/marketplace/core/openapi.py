"""The OpenAPI schema tells every status a route can answer, each with the problem body.

FastAPI documents a route's success and, when it has parameters, a 422 in its own
`HTTPValidationError` shape, which is not what the API sends. Generated clients and
schemathesis then meet undocumented 401, 403, 404, 409 and 429 answers. Here the
schema is completed once, when it is first built:

- statuses any route of its shape can answer are added by shape (`_statuses_by_shape`):
  every API route resolves the caller (401 for a bad credential), sits behind the IP
  filter (403), the rate limits (429) and the load shedder (503 with Retry-After); a
  route with a body can meet malformed JSON (400), the size limit (413) and validation
  (422); a path parameter or `X-Company-ID` can name something the caller cannot see
  (404), and a malformed `X-Company-ID` is a 400;
- the statuses of a route's own rules are declared on it with `problems(...)`, e.g.
  `@router.post(..., responses=problems(409))`;
- every 4xx and 5xx is described by the `Problem` schema as `application/problem+json`,
  unless the route documents its own body for it (the health report's 503);
- a route that serves anonymous callers too (its dependencies never reach the one that
  demands a credential) lists the empty requirement `{}` among its `security`
  alternatives, so that clients and schemathesis's `ignored_auth` know a credential is
  optional there (though one that is sent must be valid).

`tests/conftest.py` checks, for every response any test receives, that its status is
documented for its route, so the schema stays true as routes change.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from marketplace.core.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX

API_PREFIX = "/api/"
COMPANY_HEADER = "x-company-id"
PROBLEM_REF = "#/components/schemas/Problem"

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: invalid JSON, an unreadable cursor, or a rule of the request.",
    401: "Missing, invalid, expired or revoked credentials.",
    403: "Not allowed: the caller's role, scopes or company, or a blocked address.",
    404: "Not found, or not visible to the caller (another company's data).",
    409: "Conflicts with the current state of the resource.",
    413: "The request body exceeds its size limit.",
    415: "Unsupported media type.",
    422: "Validation failed; `errors` names each field.",
    429: "Too many requests; `Retry-After` says when to try again.",
    500: "Unexpected error; quote the `request_id` when reporting it.",
    503: "Temporarily unavailable (overloaded, or a dependency down); `Retry-After` says "
    "when to try again.",
}


class FieldProblem(BaseModel):
    loc: list[str] = Field(description="Where: `body`, `query`, `path`, then field names.")
    msg: str = Field(description="What is wrong, in the negotiated language.")
    type: str = Field(description="A machine-readable kind, e.g. `missing`.")


class Problem(BaseModel):
    """An RFC 9457 problem details body, `application/problem+json`."""

    type: str = Field(description=f"`{PROBLEM_TYPE_PREFIX}<code>`, e.g. `...:not-found`.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request.")
    request_id: str | None = Field(description="`X-Request-ID` of the request.")
    errors: list[FieldProblem] = Field(description="Per-field problems (validation).")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the statuses its own rules answer (409 on a conflict,
    400 on a broken rule...), beyond those every route of its shape can answer."""
    return {status: {"description": _description(status)} for status in statuses}


def _description(status: int) -> str:
    return _DESCRIPTIONS.get(status) or HTTPStatus(status).phrase


def _statuses_by_shape(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {500}
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if path.startswith(API_PREFIX):
        statuses |= {401, 403, 429, 503}  # 503: shed under overload (load_shed.py)
    if "security" in operation:
        statuses.add(400)  # a bearer token and an API key together (ambiguous credentials)
    if parameters or has_body:
        statuses.add(422)
    if has_body:
        statuses |= {400, 413}
    if any(parameter["in"] == "path" for parameter in parameters):
        statuses.add(404)
    if any(parameter["name"].lower() == COMPANY_HEADER for parameter in parameters):
        statuses |= {400, 404}  # a malformed company id; a company the caller is not in
    if any(parameter["name"] == "cursor" for parameter in parameters):
        statuses.add(400)  # a cursor that is not one of ours
    return statuses


def complete_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses by shape to every operation and describe every error response
    with the problem schema (in place; returns the schema)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses_by_shape(path, method, operation):
                responses.setdefault(str(status), {"description": _description(status)})
            for status, response in responses.items():
                if not status.isdigit() or int(status) < 400:
                    continue
                # FastAPI's 422 is replaced; a route's own error body (health's report) kept.
                own_body = any("schema" in media for media in response.get("content", {}).values())
                if int(status) == 422 or not own_body:
                    response["description"] = _description(int(status))
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    # FastAPI's own 422 shape is no longer referenced.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _calls(dependant: Dependant, target: Callable[..., Any]) -> bool:
    return any(
        dependency.call is target or _calls(dependency, target)
        for dependency in dependant.dependencies
    )


def mark_optional_credentials(
    app: FastAPI, schema: dict[str, Any], credential_required: Callable[..., Any]
) -> None:
    """Add `{}` to the `security` of each operation whose route never calls
    `credential_required` (in place)."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        if _calls(route.dependant, credential_required):
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None and {} not in operation.get("security", [{}]):
                operation["security"] = [{}, *operation["security"]]


def install_openapi(app: FastAPI, *, credential_required: Callable[..., Any] | None = None) -> None:
    """Build the app's schema with every status documented (once, on first request);
    `credential_required` is the dependency that refuses anonymous callers, if any."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_responses(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    servers=app.servers,
                )
            )
            if credential_required is not None:
                mark_optional_credentials(app, app.openapi_schema, credential_required)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
