"""Graceful shutdown of `marketplace serve`, in a process of its own: on SIGTERM it stops
accepting connections, lets the request in flight finish (its body still arriving),
tells each WebSocket client to reconnect (close code 1012, "service restart"), then
closes its pools and exits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from marketplace.core.platform import Platform
from marketplace.identity.models import User
from tests.cli.test_embedded_postgres import MARKETPLACE, free_port, wait_until_ready
from tests.conftest import TEST_SECRET_KEY, make_settings
from tests.notifications.conftest import World
from tests.realtime.conftest import open_socket, receive

pytestmark = pytest.mark.slow

SERVICE_RESTART = 1012


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    platform = await Platform.start(make_settings(database_url=database_url))
    world = World(platform)
    yield world
    await world.cleanup()
    await platform.close()


def start_serve(database_url: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        "OUTBOX_RELAY_ENABLED": "false",
    }
    log = (workdir / "serve.log").open("wb")
    try:
        return subprocess.Popen(
            [MARKETPLACE, "serve", "--port", str(port), "--no-migrate"],
            cwd=workdir,  # no stray .env
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


async def until_closed(socket_client: ClientConnection) -> ConnectionClosed:
    """Read (pings, say) until the server closes the connection; how it closed it."""
    try:
        while True:
            await receive(socket_client, 20)
    except ConnectionClosed as closed:
        return closed


async def test_sigterm_finishes_the_request_in_flight_and_asks_sockets_to_reconnect(
    database_url: str, world: World, tmp_path: Path
) -> None:
    user = await world.user(name="Before the restart")
    token = await world.access_token(user)
    port = free_port()
    service = start_serve(database_url, tmp_path, port)
    try:
        await asyncio.to_thread(wait_until_ready, service, port, log=tmp_path / "serve.log")
        async with open_socket(
            f"ws://127.0.0.1:{port}/api/v1/ws?access_token={token}"
        ) as socket_client:
            assert (await receive(socket_client))["type"] == "welcome"
            # A request whose body is still arriving when the signal comes.
            body = json.dumps({"name": "After the restart"}).encode()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"PATCH /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Authorization: Bearer {token}\r\n".encode()
                + b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            await writer.drain()
            await asyncio.sleep(0.5)

            service.send_signal(signal.SIGTERM)
            closed = await until_closed(socket_client)
            assert closed.rcvd is not None
            assert closed.rcvd.code == SERVICE_RESTART
            # No new connection is accepted meanwhile.
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(timeout=2) as http:
                    await http.get(f"http://127.0.0.1:{port}/health/live")

            writer.write(body[10:])
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), 20)
            writer.close()
        head, _, answer = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), response
        assert b"connection: close" in head.lower()
        assert json.loads(answer)["name"] == "After the restart"
        exit_code = await asyncio.to_thread(service.wait, 30)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(10)
    assert exit_code in (0, 128 + signal.SIGTERM)
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log
    async with world.platform.database.session_factory() as session:
        saved = await session.get(User, user.id)
        assert saved is not None
        assert saved.name == "After the restart"
