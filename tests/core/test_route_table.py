"""First-segment dispatch (core/route_table.py) picks the route FastAPI's router picks, and
hands every other case (404, 405, redirects, mounts, plain routes) to FastAPI's router."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount

from marketplace.core import route_table


def _answer(name: str) -> Any:
    async def endpoint(request: Request) -> dict[str, Any]:
        return {
            "name": name,
            "params": {k: str(v) for k, v in request.path_params.items()},
            "route": request.scope["route"].path,
        }

    endpoint.__name__ = name
    return endpoint


def _app() -> FastAPI:
    app = FastAPI()
    first = APIRouter()
    first.add_api_route("/items/search", _answer("search"), methods=["GET"])
    second = APIRouter()
    second.add_api_route("/items/mine", _answer("mine"), methods=["GET"])
    second.add_api_route("/items/{item_id:int}", _answer("item"), methods=["GET"])
    second.add_api_route("/items/{item_id}", _answer("item_text"), methods=["GET"])
    second.add_api_route("/items", _answer("create"), methods=["POST"])
    third = APIRouter()
    third.add_api_route("/items/{item_id}", _answer("replace"), methods=["PUT"])
    third.add_api_route("/orders/{order_id}/lines/{line}", _answer("line"), methods=["GET"])
    nested = APIRouter()
    nested.add_api_route("/deep", _answer("deep"), methods=["GET"])
    third.include_router(nested, prefix="/nested")
    health = APIRouter()
    health.add_api_route("/health/live", _answer("live"), methods=["GET"])
    app.include_router(health)
    app.include_router(first, prefix="/api/v1")
    app.include_router(second, prefix="/api/v1")
    app.include_router(third, prefix="/api/v1")
    app.router.routes.append(
        Mount("/api/v1/static", app=PlainTextResponse("static"), name="static")
    )
    app.add_api_route("/{anything:path}", _answer("catch_all"), methods=["GET"])
    return app


REQUESTS = [
    ("GET", "/health/live"),
    ("GET", "/api/v1/items/search"),
    ("GET", "/api/v1/items/mine"),
    ("GET", "/api/v1/items/42"),
    ("GET", "/api/v1/items/forty-two"),
    ("POST", "/api/v1/items"),
    ("PUT", "/api/v1/items/7"),
    ("DELETE", "/api/v1/items/7"),  # 405
    ("GET", "/api/v1/items/7/"),  # redirect or catch-all: FastAPI's router decides
    ("GET", "/api/v1/orders/o1/lines/3"),
    ("GET", "/api/v1/nested/deep"),
    ("GET", "/api/v1/static/file.txt"),
    ("GET", "/api/v1/unknown"),
    ("POST", "/nowhere"),  # 405 of the catch-all
    ("GET", "/"),
]


async def _send(app: FastAPI, method: str, path: str) -> tuple[int, str, str | None]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.request(method, path, follow_redirects=False)
    return answer.status_code, answer.text, answer.headers.get("allow")


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_the_table_answers_as_fastapis_router(method: str, path: str) -> None:
    plain = await _send(_app(), method, path)
    tabled = _app()
    route_table.install(tabled)
    assert await _send(tabled, method, path) == plain


async def test_api_routes_are_dispatched_by_the_table_the_rest_by_fastapi() -> None:
    app = _app()
    route_table.install(app)
    table = app.router.middleware_stack
    assert isinstance(table, route_table.RouteTable)
    fell_back: list[str] = []
    fallback = table.fallback

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            fell_back.append(scope["path"])
        await fallback(scope, receive, send)

    table.fallback = counting
    for method, path in REQUESTS:
        await _send(app, method, path)
    assert fell_back == [
        "/api/v1/items/7",  # DELETE: no route has it
        "/api/v1/items/7/",
        "/api/v1/nested/deep",  # in a router included in an included router
        "/api/v1/static/file.txt",  # a mount
        "/api/v1/unknown",
        "/nowhere",
        "/",
    ]


async def test_routes_added_later_are_found() -> None:
    """Routes added after the first request, to the app or to an included router, as
    FastAPI's router finds them (a router included after the catch-all comes after it)."""
    answers = []
    for tabled in (False, True):
        app = _app()
        if tabled:
            route_table.install(app)
        seen = [await _send(app, "GET", "/api/v1/items/1")]
        late = APIRouter()
        late.add_api_route("/late/{x}", _answer("late"), methods=["GET"])
        late.add_api_route("/late/{x}", _answer("late_post"), methods=["POST"])
        app.include_router(late, prefix="/api/v1")
        seen.append(await _send(app, "GET", "/api/v1/late/5"))
        seen.append(await _send(app, "POST", "/api/v1/late/5"))
        second = next(
            route.original_router
            for route in app.router.routes
            if any(
                getattr(r, "path", "") == "/items/mine"
                for r in getattr(route, "original_router", app.router).routes
            )
        )
        second.add_api_route("/later", _answer("later"), methods=["GET"])
        seen.append(await _send(app, "GET", "/api/v1/later"))
        answers.append(seen)
    assert answers[0] == answers[1]
    assert '"name":"late_post"' in answers[1][2][1]
    assert '"name":"later"' in answers[1][3][1]
