"""`/health`, `/health/live` and `/health/ready`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from marketplace import __version__
from marketplace.core.logging import get_logger
from marketplace.core.migrations import SchemaState, schema_state
from marketplace.core.platform import Platform

logger = get_logger(__name__)

router = APIRouter(tags=["health"])


class ComponentStatus(StrEnum):
    OK = "ok"
    DOWN = "down"


class Component(BaseModel):
    status: ComponentStatus
    mode: Literal["external", "embedded", "disabled"]
    latency_ms: float | None
    error: str | None = None


class HealthReport(BaseModel):
    status: Literal["ok", "degraded", "down"]
    version: str
    uptime_seconds: float
    components: dict[str, Component]


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: ComponentStatus
    # current: at this code's head; ahead: a newer release migrated it (expand and
    # contract: still served); pending: behind this code; foreign: a revision this code
    # does not know, its head never applied; unknown: the database did not answer.
    migrations: SchemaState | Literal["unknown"]


async def _probe(
    check: Callable[[], Awaitable[None]],
    mode: Literal["external", "embedded"],
    timeout_seconds: float,
) -> Component:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout_seconds)
    except Exception as error:  # any failure of a dependency is reported, never raised
        logger.warning("health.component_down", error=repr(error))
        return Component(
            status=ComponentStatus.DOWN,
            mode=mode,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            error=type(error).__name__,
        )
    return Component(
        status=ComponentStatus.OK,
        mode=mode,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
    )


async def _ping_database(platform: Platform) -> None:
    async with platform.database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@router.get(
    "/health",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "The database is unreachable."}},
)
async def health(request: Request, response: Response) -> HealthReport:
    """Each component's status, mode and latency; `503` when the database is unreachable."""
    platform: Platform = request.app.state.platform
    timeout = platform.settings.health_check_timeout_seconds

    async def broker_component() -> Component:
        if platform.broker is None:
            # With no AMQP_URL events are relayed in-process: nothing to reach.
            return Component(status=ComponentStatus.OK, mode="embedded", latency_ms=None)
        return await _probe(platform.broker.ping, "external", timeout)

    database, cache, broker = await asyncio.gather(
        _probe(lambda: _ping_database(platform), platform.database_mode, timeout),
        _probe(
            platform.cache.ping,
            "external" if platform.cache.mode == "external" else "embedded",
            timeout,
        ),
        broker_component(),
    )
    components = {"database": database, "cache": cache, "broker": broker}
    if database.status is ComponentStatus.DOWN:
        overall: Literal["ok", "degraded", "down"] = "down"
        response.status_code = 503
    elif any(component.status is ComponentStatus.DOWN for component in components.values()):
        overall = "degraded"
    else:
        overall = "ok"
    return HealthReport(
        status=overall,
        version=__version__,
        uptime_seconds=round(time.monotonic() - platform.started_at, 3),
        components=components,
    )


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and its event loop answers."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready to serve."}},
)
async def ready(request: Request, response: Response) -> Readiness:
    """Ready to serve: the database answers and its schema is at this code's latest
    migration or ahead of it (a newer release migrated it; during a rolling deploy or
    after a rollback this code still serves, see docs/operations.md "Releases and
    rollback"). Behind (`pending`) or foreign: 503."""
    platform: Platform = request.app.state.platform
    try:
        async with asyncio.timeout(platform.settings.health_check_timeout_seconds):
            async with platform.database.engine.connect() as connection:
                state = await schema_state(connection)
    except Exception as error:  # an unreachable database means "not ready", not a 500
        logger.warning("health.not_ready", error=repr(error))
        response.status_code = 503
        return Readiness(status="not_ready", database=ComponentStatus.DOWN, migrations="unknown")
    if state not in ("current", "ahead"):
        response.status_code = 503
        return Readiness(status="not_ready", database=ComponentStatus.OK, migrations=state)
    return Readiness(status="ready", database=ComponentStatus.OK, migrations=state)
