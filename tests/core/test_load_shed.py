"""Overload: beyond MAX_REQUESTS_IN_FLIGHT an API request waits its turn for at most
REQUEST_QUEUE_TIMEOUT_SECONDS, then gets a 503 problem with Retry-After; one whose turn
comes when it is older than that is refused too; health checks are never shed. A
request is held in flight by holding its database session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message, Receive, Scope, Send

from marketplace.core.deps import get_session
from marketplace.core.middleware.load_shed import LoadShedMiddleware
from marketplace.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    return make_settings(
        database_url=shared_settings.database_url,
        outbox_relay_enabled=False,
        max_requests_in_flight=1,
        request_queue_timeout_seconds=0.3,
    )


class Hold:
    """Requests wait for `release` once they have a database session."""

    def __init__(self, app: FastAPI) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        inner = asynccontextmanager(app.dependency_overrides[get_session])

        async def held_session() -> AsyncIterator[AsyncSession]:
            self.entered.set()
            await self.release.wait()
            async with inner() as session:
                yield session

        app.dependency_overrides[get_session] = held_session


def product_url() -> str:
    return f"/api/v1/products/{uuid.uuid4()}"


class Clock:
    """The load shedder's clock, moved by the test: a request's age without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def load_shedder(app: FastAPI) -> LoadShedMiddleware:
    layer = app.middleware_stack
    while not isinstance(layer, LoadShedMiddleware):
        layer = layer.app  # type: ignore[union-attr]
    return layer


async def test_a_request_over_the_limit_gets_503_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    hold = Hold(app)
    first = asyncio.create_task(client.get(product_url()))
    await asyncio.wait_for(hold.entered.wait(), 5)

    started = asyncio.get_running_loop().time()
    shed = await client.get(product_url(), headers={"Accept-Language": "en"})
    waited = asyncio.get_running_loop().time() - started

    assert shed.status_code == 503, shed.text
    assert shed.headers["Retry-After"] == "1"
    assert shed.headers["content-type"] == "application/problem+json"
    body = shed.json()
    assert body["status"] == 503
    assert body["type"].endswith(":service-unavailable")
    # It waited its turn for the queue timeout, not for the held request (held forever).
    assert waited >= 0.25
    # Health checks are not shed: an overloaded process is not a dead one.
    assert (await client.get("/health/live")).status_code == 200

    hold.release.set()
    assert (await first).status_code == 404


async def test_a_request_older_than_the_bound_when_its_turn_comes_gets_503(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    shedder = load_shedder(app)
    clock = Clock()
    shedder.clock = clock
    # A bound the test never reaches in real time: only the request's age (the clock)
    # can refuse it.
    shedder.queue_timeout = 30.0
    hold = Hold(app)
    first = asyncio.create_task(client.get(product_url()))
    await asyncio.wait_for(hold.entered.wait(), 5)
    late = asyncio.create_task(client.get(product_url(), headers={"Accept-Language": "en"}))
    for _ in range(500):  # until it is queued behind the first
        if shedder.waiting:
            break
        await asyncio.sleep(0.01)
    assert shedder.waiting == 1

    clock.now += 31.0  # it has waited longer than the bound when the slot frees
    hold.release.set()
    assert (await first).status_code == 404
    shed = await late

    assert shed.status_code == 503, shed.text
    assert shed.headers["Retry-After"] == "1"
    assert shed.headers["content-type"] == "application/problem+json"
    body = shed.json()
    assert body["status"] == 503
    assert body["type"].endswith(":service-unavailable")
    assert shedder.shed == 1
    # The slot it was given went back: the next request is served.
    assert (await client.get(product_url())).status_code == 404


async def test_a_request_waits_its_turn_rather_than_failing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    hold = Hold(app)
    first = asyncio.create_task(client.get(product_url()))
    await asyncio.wait_for(hold.entered.wait(), 5)
    second = asyncio.create_task(client.get(product_url()))
    await asyncio.sleep(0.1)  # queued behind the first, within the timeout
    assert not second.done()

    hold.release.set()
    assert (await first).status_code == 404
    assert (await second).status_code == 404  # served, not shed


async def test_the_503_is_documented_on_every_api_route(app: FastAPI) -> None:
    schema = app.openapi()
    for path, methods in schema["paths"].items():
        if path.startswith("/api/"):
            for method, operation in methods.items():
                assert "503" in operation["responses"], (method, path)


async def test_a_request_cancelled_while_waiting_takes_no_slot() -> None:
    """A waiter that goes away (the server stopping) leaves the count of slots right."""
    gate = asyncio.Event()

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        await gate.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    shedder = LoadShedMiddleware(held, limited_prefix="/api/", max_in_flight=1, queue_timeout=30.0)
    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    def request() -> Scope:
        return {"type": "http", "path": "/api/v1/x", "method": "GET", "headers": []}

    first = asyncio.create_task(shedder(request(), receive, send))
    await asyncio.sleep(0)
    assert shedder.in_flight == 1
    second = asyncio.create_task(shedder(request(), receive, send))
    for _ in range(100):
        if shedder.waiting:
            break
        await asyncio.sleep(0)
    assert shedder.waiting == 1
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second

    gate.set()
    await first
    assert (shedder.in_flight, shedder.waiting) == (0, 0)
    await shedder(request(), receive, send)  # served at once: the slot is free
    assert statuses == [204, 204]
