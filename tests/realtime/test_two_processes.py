"""Two API processes sharing PostgreSQL and Redis: an event caused through one reaches
a WebSocket client connected to the other, and never another tenant's client."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from marketplace.core.platform import Platform
from tests.conftest import REDIS_URL, TEST_SECRET_KEY, make_settings, require_service
from tests.notifications.conftest import World
from tests.realtime.conftest import gather_messages, open_socket, quiet_for, receive

STARTUP_SECONDS = 90


class ApiProcess:
    """`uvicorn marketplace.app:create_app` in a process of its own, on an inherited
    listening socket (no race for the port)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "marketplace.app:create_app",
                "--factory",
                "--fd",
                str(self.sock.fileno()),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=workdir,  # no stray .env
            pass_fds=(self.sock.fileno(),),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / f"api-{self.port}.log").open("wb"),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws?access_token={token}"

    async def wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while True:
                assert self.process.poll() is None, "the API process exited"
                try:
                    if (await http.get("/health/live")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "the API did not start"
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.sock.close()


@pytest.fixture
def api_env(database_url: str) -> dict[str, str]:
    require_service("Redis", REDIS_URL, 6379)
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"mp-test-{uuid.uuid4().hex[:8]}:",
        "LOG_LEVEL": "WARNING",
        "OUTBOX_POLL_INTERVAL_SECONDS": "0.2",
    }


@pytest.fixture
def two_apis(api_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    # A runs the outbox relay and the consumers; B only serves: whatever B's client
    # receives crossed from process A through Redis.
    first = ApiProcess(api_env, tmp_path)
    second = ApiProcess({**api_env, "OUTBOX_RELAY_ENABLED": "false"}, tmp_path)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture
async def world_here(database_url: str) -> AsyncIterator[World]:
    """Committed users and tokens, made in this process with the servers' secret."""
    platform = await Platform.start(make_settings(database_url=database_url))
    world = World(platform)
    yield world
    await world.cleanup()
    await platform.close()


@pytest.mark.slow
async def test_an_event_caused_on_one_process_reaches_a_client_of_the_other(
    two_apis: tuple[ApiProcess, ApiProcess], world_here: World
) -> None:
    api_a, api_b = two_apis
    world = world_here
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner")
    admin = await world.member(supplier, "admin")
    rival = await world.company(kind="supplier")
    rival_owner = await world.member(rival, "owner")
    await asyncio.gather(api_a.wait_ready(), api_b.wait_ready())

    async with (
        open_socket(api_b.ws_url(await world.access_token(admin))) as admin_on_b,
        open_socket(api_b.ws_url(await world.access_token(rival_owner))) as rival_on_b,
        open_socket(api_a.ws_url(await world.access_token(rival_owner))) as rival_on_a,
    ):
        for ws in (admin_on_b, rival_on_b, rival_on_a):
            assert (await receive(ws))["type"] == "welcome"

        async with httpx.AsyncClient(base_url=api_a.base_url, timeout=15) as http:
            response = await http.post(
                f"/api/v1/companies/{supplier.id}/api-keys",
                json={"name": "erp", "scopes": ["catalog:read"]},
                headers={"Authorization": f"Bearer {await world.access_token(owner)}"},
            )
        assert response.status_code == 201, response.text

        found = await gather_messages(admin_on_b, {"event": 1, "notification": 1}, within=30)
        event = found["event"][0]["data"]
        assert event["type"] == "api_key.created"
        assert event["payload"]["api_key_id"] == response.json()["id"]
        assert event["company_ids"] == [str(supplier.id)]
        notification = found["notification"][0]["data"]
        assert notification["event_id"] == event["id"]
        assert notification["title"] == "New API key"

        # The other tenant's connections, on either process, receive nothing.
        leaked = await asyncio.gather(quiet_for(rival_on_b, 1.5), quiet_for(rival_on_a, 0.1))
        assert leaked == [[], []]
