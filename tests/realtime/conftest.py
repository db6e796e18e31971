"""Live-update tests run the real application in uvicorn (in this event loop, or as
separate processes) and talk to it with the `websockets` client over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from marketplace.app import create_app
from marketplace.core.platform import Platform
from marketplace.realtime.hub import RealtimeHub
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.notifications.conftest import World

WAIT_SECONDS = 15.0


class LiveServer:
    """The application served by uvicorn on a free local port, in this event loop."""

    def __init__(self, settings: Settings, **uvicorn_options: Any) -> None:
        self.settings = settings
        # Default: quiet. `log_config=None, log_level=None` logs as `marketplace serve` does.
        self.uvicorn_options = {"log_level": "warning", **uvicorn_options}
        self.app: FastAPI = create_app(settings)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="on", access_log=False, **self.uvicorn_options)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + 60
        while not self._server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 30)

    @property
    def platform(self) -> Platform:
        platform: Platform = self.app.state.platform
        return platform

    @property
    def hub(self) -> RealtimeHub:
        hub: RealtimeHub = self.app.state.realtime
        return hub

    def ws_url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws{query}"

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=WAIT_SECONDS)


def live_settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "outbox_poll_interval_seconds": 0.2,
        "realtime_heartbeat_seconds": 5.0,
    }
    values.update(overrides)
    return make_settings(**values)


ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def start_server(database_url: str) -> AsyncIterator[ServerFactory]:
    """Start live servers with settings overrides; all stopped after the test."""
    started: list[LiveServer] = []

    async def start(**overrides: Any) -> LiveServer:
        server = LiveServer(live_settings_for(database_url, **overrides))
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def server(start_server: ServerFactory) -> LiveServer:
    return await start_server()


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    created = World(server.platform)
    yield created
    await created.cleanup()


def open_socket(
    url: str,
    *,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    origin: str | None = None,
) -> Any:
    return connect(
        url,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        proxy=None,
        open_timeout=WAIT_SECONDS,
        close_timeout=5,
    )


async def receive(ws: ClientConnection, within: float = WAIT_SECONDS) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), within)
    message: dict[str, Any] = orjson.loads(raw)
    return message


async def next_of(
    ws: ClientConnection, kinds: set[str], within: float = WAIT_SECONDS
) -> dict[str, Any]:
    """The next message of one of `kinds`, answering pings on the way."""
    deadline = time.monotonic() + within
    while True:
        message = await receive(ws, max(deadline - time.monotonic(), 0.01))
        if message["type"] in kinds:
            return message
        if message["type"] == "ping":
            await ws.send('{"type": "pong"}')


async def gather_messages(
    ws: ClientConnection, wanted: dict[str, int], within: float = WAIT_SECONDS
) -> dict[str, list[dict[str, Any]]]:
    """Messages by type until `wanted` counts are reached, whatever their order (the
    notification of an event and the event travel independently)."""
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in wanted}
    deadline = time.monotonic() + within
    while any(len(found[kind]) < count for kind, count in wanted.items()):
        message = await next_of(ws, set(wanted), max(deadline - time.monotonic(), 0.01))
        found[message["type"]].append(message)
    return found


async def quiet_for(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Everything but pings received within `seconds`."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    with contextlib.suppress(TimeoutError):
        while (left := deadline - time.monotonic()) > 0:
            message = await receive(ws, left)
            if message["type"] != "ping":
                received.append(message)
    return received


async def close_code(ws: ClientConnection, within: float = WAIT_SECONDS) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), within)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""
