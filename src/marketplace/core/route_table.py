"""First-segment dispatch: the route of a request found from its path's first segments,
instead of FastAPI's walk of every included router.

FastAPI (0.165) matches a request by asking each included router in turn; each one
recomputes its routes' version (a walk of the router and everything it includes) and
tries its routes, and the router that matches does it all a second time to handle the
request. That was 4-5% of an uncached product detail, 8-11% of signed-in reads and
orders, and 29% of `/health/live` (py-spy, issue 14, bench/README.md).

`RouteTable` keeps the app's routes in FastAPI's own order, grouped by the static
segments their path starts with (up to three: `/api/v1/products`). A request is tried
only against the routes that can match its first segments, in that same order; the
first full match is handled exactly as FastAPI's router hands it over (the same
`scope` keys, the same per-route app with its dependencies and body limit). Anything
else goes to FastAPI's own router, unchanged: no full match (its 404, 405 and
redirects), a route that is not a FastAPI route of an included router met before the
match (mounts, plain routes, the web app's page), WebSockets, lifespan, telemetry.

The table is rebuilt when a router's routes change (their `_routes_version`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

# FastAPI's included-router model (0.165, pinned): what its router puts in the scope.
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    APIRouter,
    _IncludedRouter,
)
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

DEPTH = 3  # static segments a route is grouped by: /api/v1/<resource>


@dataclass(slots=True)
class _Entry:
    key: tuple[str, ...]
    included: Any = None  # the _IncludedRouter; None: FastAPI's router decides
    context: Any = None  # its _EffectiveRouteContext of an APIRoute
    route: APIRoute | None = None


def _static_key(path: str) -> tuple[str, ...]:
    key: list[str] = []
    for segment in path.split("/")[1:]:
        if "{" in segment or len(key) == DEPTH:
            break
        key.append(segment)
    return tuple(key)


class RouteTable:
    """The app router's entry point (`router.middleware_stack`), FastAPI's as fallback."""

    def __init__(self, router: APIRouter, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._versions: list[tuple[APIRouter, int]] = []
        self._count = -1
        self._nodes: dict[tuple[str, ...], list[_Entry]] = {}

    def _stale(self) -> bool:
        if len(self.router.routes) != self._count:
            return True
        return any(router._routes_version != version for router, version in self._versions)

    def _build(self) -> None:
        router = self.router
        entries: list[_Entry] = []
        versions: list[tuple[APIRouter, int]] = [(router, router._routes_version)]
        for route in router.routes:
            if isinstance(route, _IncludedRouter) and not route.include_context.form_limits:
                included = route.original_router
                versions.append((included, included._routes_version))
                for candidate in route.effective_candidates():
                    if isinstance(candidate, _IncludedRouter) or not isinstance(
                        candidate.original_route, APIRoute
                    ):
                        # Nested or not a FastAPI route: FastAPI's router decides.
                        entries.append(_Entry(key=()))
                        if isinstance(candidate, _IncludedRouter):
                            sub = candidate.original_router
                            versions.append((sub, sub._routes_version))
                        continue
                    entries.append(
                        _Entry(
                            key=_static_key(candidate.path),
                            included=route,
                            context=candidate,
                            route=candidate.original_route,
                        )
                    )
            else:
                path = getattr(route, "path", None)
                entries.append(_Entry(key=_static_key(path) if isinstance(path, str) else ()))
        prefixes = {entry.key[:depth] for entry in entries for depth in range(len(entry.key) + 1)}
        self._nodes = {
            prefix: [entry for entry in entries if prefix[: len(entry.key)] == entry.key]
            for prefix in prefixes
        }
        self._versions = versions
        self._count = len(router.routes)

    def _candidates(self, path: str) -> list[_Entry]:
        segments = path.split("/", DEPTH + 1)[1 : DEPTH + 1]
        nodes = self._nodes
        for depth in range(len(segments), -1, -1):
            found = nodes.get(tuple(segments[:depth]))
            if found is not None:
                return found
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "fastapi.telemetry" in scope or self.router.form_limits:
            await self.fallback(scope, receive, send)
            return
        if self._stale():
            self._build()
        path = get_route_path(scope)
        method = scope["method"]
        for entry in self._candidates(path):
            context = entry.context
            if context is None:
                break  # FastAPI's router decides from here
            match = context.path_regex.match(path)
            if match is None:
                continue
            methods = context.methods
            if methods and method not in methods:
                continue  # a 405 unless a later route matches: FastAPI's router decides
            await self._handle(entry, match.groupdict(), scope, receive, send)
            return
        await self.fallback(scope, receive, send)

    async def _handle(
        self, entry: _Entry, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        context = entry.context
        convertors = context.param_convertors
        path_params = dict(scope.get("path_params", {}))
        for name, value in params.items():
            path_params[name] = convertors[name].convert(value)
        # The scope FastAPI's router leaves for the route it selected.
        scope.setdefault("router", self.router)
        fastapi_scope = scope.setdefault(_FASTAPI_SCOPE_KEY, {})
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = entry.included
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        scope["endpoint"] = context.endpoint
        scope["path_params"] = path_params
        scope["route"] = entry.route
        await context.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Put the table in front of the app's router (after every route is added; routes
    added later are picked up too)."""
    router = app.router
    # Only over the router's own `app`: a router-level body limit or middleware keeps
    # FastAPI's path for every request.
    if router.middleware_stack == router.app:
        router.middleware_stack = RouteTable(router, router.middleware_stack)
