"""Credentials in a WebSocket URL never reach the logs, and a single-use ticket keeps the
access token out of the URL altogether."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from marketplace.realtime.service import TICKET_TTL_SECONDS
from tests.notifications.conftest import World
from tests.realtime.conftest import LiveServer, close_code, live_settings_for, open_socket, receive

TICKET = "/api/v1/ws/ticket"


@pytest.fixture
async def logging_server(database_url: str) -> AsyncIterator[LiveServer]:
    """Served and logging as in production: JSON lines at INFO through our handler,
    uvicorn's own lines (its WebSocket handshakes, with their path and query) included."""
    settings = live_settings_for(database_url, log_format="json", log_level="INFO")
    # Servers of other tests left uvicorn's loggers at WARNING; a `serve` process starts
    # with them unset (the root level applies).
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error")]
    levels = [logger.level for logger in uvicorn_loggers]
    for logger in uvicorn_loggers:
        logger.setLevel(logging.NOTSET)
    server = LiveServer(settings, log_config=None, log_level=None)
    await server.start()
    yield server
    await server.stop()
    for logger, level in zip(uvicorn_loggers, levels, strict=True):
        logger.setLevel(level)


async def welcomed(url: str, **options: object) -> str:
    async with open_socket(url, **options) as ws:  # type: ignore[arg-type]
        welcome = await receive(ws)
        assert welcome["type"] == "welcome"
        return str(welcome["data"]["user_id"])


async def test_no_log_line_carries_a_credential_from_a_websocket_url(
    logging_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(logging_server.platform)
    try:
        user = await world.user()
        token = await world.access_token(user)
        assert await welcomed(logging_server.ws_url(f"?access_token={token}")) == str(user.id)
        forged = token[:-6] + "AAAAAA"
        async with open_socket(logging_server.ws_url(f"?access_token={forged}")) as ws:
            assert (await close_code(ws))[0] == 1008
        async with logging_server.http() as http:
            issued = await http.post(TICKET, headers={"Authorization": f"Bearer {token}"})
        ticket = issued.json()["ticket"]
        assert await welcomed(logging_server.ws_url(f"?ticket={ticket}")) == str(user.id)
    finally:
        await world.cleanup()

    logged = capsys.readouterr().out
    # The handshakes were logged, with their credentials replaced.
    assert "/api/v1/ws?access_token=[redacted]" in logged
    assert "/api/v1/ws?ticket=[redacted]" in logged
    for secret in (token, forged, ticket, token.split(".")[2]):
        assert secret not in logged


async def test_a_ticket_opens_one_connection_once(logging_server: LiveServer) -> None:
    world = World(logging_server.platform)
    try:
        user = await world.user()
        token = await world.access_token(user)
        async with logging_server.http() as http:
            issued = await http.post(TICKET, headers={"Authorization": f"Bearer {token}"})
            anonymous = await http.post(TICKET)
        assert issued.status_code == 200, issued.text
        assert issued.headers["cache-control"] == "no-store"
        assert issued.json()["expires_in"] == TICKET_TTL_SECONDS
        assert anonymous.status_code == 401
        ticket = issued.json()["ticket"]
        assert token not in ticket

        assert await welcomed(logging_server.ws_url(f"?ticket={ticket}")) == str(user.id)
        async with open_socket(logging_server.ws_url(f"?ticket={ticket}")) as again:
            assert await close_code(again) == (1008, "invalid-credentials")
        async with open_socket(logging_server.ws_url("?ticket=made-up-ticket")) as forged:
            assert await close_code(forged) == (1008, "invalid-credentials")
    finally:
        await world.cleanup()


async def test_a_ticket_of_an_ended_session_opens_nothing(logging_server: LiveServer) -> None:
    world = World(logging_server.platform)
    try:
        user = await world.user()
        token = await world.access_token(user)
        async with logging_server.http() as http:
            bearer = {"Authorization": f"Bearer {token}"}
            ticket = (await http.post(TICKET, headers=bearer)).json()["ticket"]
            assert (await http.post("/api/v1/auth/logout", headers=bearer)).status_code == 204
        async with open_socket(logging_server.ws_url(f"?ticket={ticket}")) as ws:
            assert await close_code(ws) == (1008, "invalid-credentials")
    finally:
        await world.cleanup()
