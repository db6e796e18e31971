"""Prometheus metrics: requests by route template and status, latency, in-flight, DB pool,
the outbox's backlog, and the process's own CPU, memory and file descriptors.

Each app gets its own registry so that several apps (tests, workers) never collide.

Who may read them (`metrics_access`): with METRICS_TOKEN set, only a request bearing
it (`Authorization: Bearer <token>`); without one, anyone outside production and no one
in production, where `/metrics` answers 404. The figures describe a production
service's traffic, its routes and its database pool.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any

from fastapi.routing import RouteContext, iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.core.logging import get_logger
from marketplace.settings import Environment, Settings

logger = get_logger(__name__)

UNMATCHED_ROUTE = "<unmatched>"
__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MetricsAccess", "MetricsMiddleware", "metrics_access"]


class MetricsAccess(Enum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"  # a token is required and was not presented
    HIDDEN = "hidden"  # production without METRICS_TOKEN: not served at all


def metrics_access(settings: Settings, authorization: str | None) -> MetricsAccess:
    token = settings.metrics_token
    if token is None:
        if settings.environment is Environment.PRODUCTION:
            return MetricsAccess.HIDDEN
        return MetricsAccess.ALLOWED
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.get_secret_value().encode()
    ):
        return MetricsAccess.ALLOWED
    return MetricsAccess.UNAUTHENTICATED


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being handled.", registry=self.registry
        )
        self.db_pool = Gauge(
            "db_pool_connections",
            "Database pool connections by state: size, checked_out, idle, overflow, and "
            "waiting (checkouts waiting for a connection).",
            ["state"],
            registry=self.registry,
        )
        self.outbox_unpublished = Gauge(
            "outbox_unpublished_events",
            "Committed events the relay has not published yet (the whole outbox, read "
            "when scraped).",
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished event; 0 when the outbox is empty.",
            registry=self.registry,
        )
        self.replica_usable = Gauge(
            "db_replica_usable",
            "1 while a read replica takes read-only work, 0 while it is skipped.",
            ["replica"],
            registry=self.registry,
        )
        self.replica_lag = Gauge(
            "db_replica_lag_seconds",
            "How far a read replica's replay was behind the primary at its last check.",
            ["replica"],
            registry=self.registry,
        )
        self.replica_skips = Counter(
            "db_replica_skips",
            "Times a read replica was skipped (reads went to the primary), by reason: "
            "unreachable, lagging, not_a_standby.",
            ["replica", "reason"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self._replica_status: Callable[[], dict[str, tuple[bool, float]]] | None = None
        self._pool_status: Callable[[], dict[str, int]] | None = None
        self._outbox_backlog: Callable[[], Awaitable[tuple[int, float]]] | None = None
        self._outbox_timeout_seconds = 2.0
        self._templates: dict[int, str] = {}
        self._routes: list[tuple[RouteContext, str]] = []
        # The labelled children per (method, route, status): `labels()` validates and
        # looks them up under a lock on every call (4% of `/health/live`, py-spy).
        # Bounded by routes x methods x statuses, as the registry's own children are.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        children = self._children.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[(method, route, status)] = children
        requests, latency = children
        requests.inc()
        latency.observe(seconds)

    def name_routes(self, routes: Sequence[BaseRoute]) -> None:
        """Learn each route's full template: a route of a router included in another
        knows only its own part of the path (`/orders`, not `/api/v1/orders`)."""
        contexts = [context for context in iter_route_contexts(routes) if context.path]
        self._templates = {
            id(context.original_route): context.path for context in contexts if context.path
        }
        # In routing order, each as the router matches it (its effective, full path).
        self._routes = [(context, context.path) for context in contexts if context.path]

    def template_matching(self, scope: Scope) -> str | None:
        """The template of the route the router would choose for this request (a route
        of another method counts, as the router's 405 does), or None."""
        for route, template in self._routes:
            match, _child_scope = route.matches(scope)
            if match is not Match.NONE:
                return template
        return None

    def template_of(self, route: object) -> str | None:
        template = self._templates.get(id(route))
        if template is not None:
            return template
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else None

    def watch_pool(self, pool_status: Callable[[], dict[str, int]]) -> None:
        self._pool_status = pool_status

    def watch_replicas(self, status: Callable[[], dict[str, tuple[bool, float]]]) -> None:
        self._replica_status = status

    def replica_skipped(self, replica: str, reason: str) -> None:
        self.replica_skips.labels(replica, reason).inc()

    def watch_outbox(
        self, backlog: Callable[[], Awaitable[tuple[int, float]]], timeout_seconds: float
    ) -> None:
        self._outbox_backlog = backlog
        self._outbox_timeout_seconds = timeout_seconds

    async def refresh(self) -> None:
        """Read what needs the database, once per scrape. Unreadable (the database is
        down or its pool exhausted, which other alerts report): NaN, never a stale figure
        that would look healthy."""
        if self._outbox_backlog is None:
            return
        count: float
        try:
            count, age = await asyncio.wait_for(
                self._outbox_backlog(), self._outbox_timeout_seconds
            )
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            logger.warning("metrics.outbox_unreadable", error=repr(error))
            count, age = math.nan, math.nan
        self.outbox_unpublished.set(count)
        self.outbox_oldest_age.set(age)

    def render(self) -> bytes:
        if self._pool_status is not None:
            for state, value in self._pool_status().items():
                self.db_pool.labels(state=state).set(value)
        if self._replica_status is not None:
            for replica, (usable, lag) in self._replica_status().items():
                self.replica_usable.labels(replica).set(1 if usable else 0)
                self.replica_lag.labels(replica).set(lag)
        return generate_latest(self.registry)


def _route_template(metrics: Metrics, scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        path = metrics.template_of(route)
    elif "router" not in scope:
        # Answered before routing (the rate limit's 429, a refused address, a body too
        # large): counted under the route that would have served it, so that a route's
        # figures include its refusals. Only these requests pay for the matching.
        path = metrics.template_matching(scope)
    else:
        path = None  # the router found no route: a 404 of its own
    if path is None:
        return UNMATCHED_ROUTE
    return scope.get("root_path", "") + path if scope.get("root_path") else path


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(
                scope["method"],
                _route_template(self.metrics, scope),
                status,
                time.perf_counter() - started,
            )
