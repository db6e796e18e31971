"""Dependencies resolved from a plan (core/dependency_plan.py) behave as FastAPI's own walk:
the same calls in the same order, each shared dependency once, `yield` dependencies closed
in their scope, the shared response and background tasks, overrides, and the same 422
(with the same side effects) when a parameter is invalid."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    FastAPI,
    Header,
    Query,
    Request,
    Response,
    Security,
)
from fastapi.security import SecurityScopes

from marketplace.core import dependency_plan

calls: list[str] = []


async def get_platform(request: Request) -> str:
    calls.append("platform")
    return f"platform:{request.url.path}"


PlatformDep = Annotated[str, Depends(get_platform)]


async def get_session(platform: PlatformDep) -> AsyncIterator[str]:
    calls.append("session open")
    yield f"session({platform})"
    calls.append("session close")


SessionDep = Annotated[str, Depends(get_session, scope="function")]


def get_request_scoped(platform: PlatformDep) -> Iterator[str]:
    """A plain `def` with yield: run in the thread pool, closed after the response."""
    calls.append("request-scoped open")
    yield "request-scoped"
    calls.append("request-scoped close")


def get_company(
    session: SessionDep, x_company_id: Annotated[str | None, Header()] = None
) -> str:  # plain def: the thread pool
    calls.append(f"company {x_company_id}")
    return f"company:{x_company_id}"


async def get_principal(
    session: SessionDep, platform: PlatformDep, token: Annotated[str | None, Query()] = None
) -> str:
    calls.append(f"principal {token}")
    return f"principal:{token}"


PrincipalDep = Annotated[str, Depends(get_principal)]


async def get_viewer(
    principal: PrincipalDep,
    session: SessionDep,
    company: Annotated[str, Depends(get_company)],
    response: Response,
    background: BackgroundTasks,
) -> str:
    calls.append("viewer")
    response.headers["X-Viewer"] = "set by a dependency"
    background.add_task(calls.append, "background task")
    return f"viewer({principal},{company})"


router = APIRouter()


@router.get("/items/{item_id}")
async def read_item(
    item_id: int,
    viewer: Annotated[str, Depends(get_viewer)],
    session: SessionDep,
    scoped: Annotated[str, Depends(get_request_scoped)],
    background: BackgroundTasks,
    limit: Annotated[int, Query(le=100)] = 10,
) -> dict[str, Any]:
    calls.append("handler")
    background.add_task(calls.append, "handler's background task")
    return {"item": item_id, "viewer": viewer, "session": session, "scoped": scoped, "limit": limit}


def _app() -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix="/api", dependencies=[Depends(get_principal)])
    return app


async def _exchange(
    app: FastAPI, planned: bool, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str], list[str]]:
    calls.clear()
    solve = dependency_plan.solve_dependencies if planned else dependency_plan._original_solve
    previous = vars(fastapi.routing)["solve_dependencies"]
    fastapi.routing.solve_dependencies = solve  # type: ignore[attr-defined]
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get(path, headers=headers)
    finally:
        fastapi.routing.solve_dependencies = previous  # type: ignore[attr-defined]
    kept = {k: v for k, v in answer.headers.items() if k in ("x-viewer", "content-type")}
    return answer.status_code, answer.json(), kept, list(calls)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/items/7?token=t&limit=5", {"X-Company-ID": "c1"}),
        ("/api/items/7", None),
        ("/api/items/not-a-number?limit=1000", None),  # 422: two invalid parameters
        ("/api/items/7?limit=1000", {"X-Company-ID": "c1"}),  # 422 after dependencies ran
    ],
)
async def test_the_plan_resolves_as_fastapi_does(path: str, headers: dict[str, str]) -> None:
    app = _app()
    planned = await _exchange(app, True, path, headers)
    walked = await _exchange(app, False, path, headers)
    assert planned == walked


async def test_each_shared_dependency_runs_once_in_fastapis_order() -> None:
    status, body, headers, seen = await _exchange(
        _app(), True, "/api/items/3?token=t", {"X-Company-ID": "c9"}
    )
    assert status == 200
    assert body == {
        "item": 3,
        "viewer": "viewer(principal:t,company:c9)",
        "session": "session(platform:/api/items/3)",
        "scoped": "request-scoped",
        "limit": 10,
    }
    assert headers["x-viewer"] == "set by a dependency"
    assert seen == [
        "platform",
        "session open",
        "principal t",
        "company c9",
        "viewer",
        "request-scoped open",
        "handler",
        "session close",  # scope="function": closed before the response is sent
        "background task",
        "handler's background task",
        "request-scoped close",
    ]
    assert any(plan.dependant.call is read_item for plan in dependency_plan._plans.values())


async def test_overrides_apply_and_a_changed_override_makes_a_new_plan() -> None:
    app = _app()

    async def other_platform() -> str:
        calls.append("other platform")
        return "other"

    app.dependency_overrides[get_platform] = other_platform
    planned = await _exchange(app, True, "/api/items/1")
    walked = await _exchange(app, False, "/api/items/1")
    assert planned == walked
    assert planned[1]["session"] == "session(other)"
    app.dependency_overrides.clear()
    status, body, _, _ = await _exchange(app, True, "/api/items/1")
    assert (status, body["session"]) == (200, "session(platform:/api/items/1)")


def test_install_replaces_fastapis_function_once() -> None:
    dependency_plan.install()
    dependency_plan.install()
    assert dependency_plan.installed()
    assert vars(fastapi.routing)["solve_dependencies"] is dependency_plan.solve_dependencies


seen: list[list[str]] = []


async def scoped(security_scopes: SecurityScopes) -> str:
    seen.append(security_scopes.scopes)
    return "scoped"


async def test_a_tree_the_plan_does_not_model_is_walked_by_fastapi() -> None:
    """Security scopes: FastAPI's own walk resolves the route, every time."""
    seen.clear()
    app = FastAPI()

    @app.get("/scoped")
    async def endpoint(value: Annotated[str, Security(scoped, scopes=["read"])]) -> str:
        return value

    for _ in range(2):
        status, body, _, _ = await _exchange(app, True, "/scoped")
        assert (status, body) == (200, "scoped")
    assert seen == [["read"], ["read"]]
    plan = next(p for p in dependency_plan._plans.values() if p.dependant.call is endpoint)
    assert not plan.usable
