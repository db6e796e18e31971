"""`/api/v1/ws`: live updates over WebSocket (protocol in `schemas.py`).

Authentication, checked before anything is sent: a single-use ticket in `?ticket=`
(from `POST /api/v1/ws/ticket`, valid 30 s), an access token in `?access_token=` or as
`Sec-WebSocket-Protocol: bearer, <token>`, or the session cookie from a trusted Origin.
A ticket or the header keep the token out of URLs, which proxies and servers log (our
own logs redact credentials in query strings, see core/logging.py). A refused handshake is
accepted and closed at once with 1008 (or 1013 when rate-limited), so that every
client, browsers included, can read why. The credential is checked again every
minute: an expired or revoked one closes the connection (1008); reconnect with a
fresh token and `resume`.

Each connection runs three tasks: receive (resume, ping/pong), send (drains the
bounded queue), heartbeat (a `ping` every REALTIME_HEARTBEAT_SECONDS; a client
silent for two heartbeats is closed with 1001). The first to end ends them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from marketplace.abuse import service as abuse
from marketplace.core.bus import BusUnavailable, message
from marketplace.core.client_ip import client_ip
from marketplace.core.deps import NO_STORE, PlatformDep
from marketplace.core.errors import DomainError, RateLimited, Unauthenticated
from marketplace.core.logging import get_logger
from marketplace.core.middleware.abuse import count_address_if_uncounted, limit_principal
from marketplace.core.platform import Platform
from marketplace.identity.deps import CurrentUser
from marketplace.identity.errors import InvalidCredentials
from marketplace.identity.models import User
from marketplace.realtime import service
from marketplace.realtime.hub import (
    GOING_AWAY,
    MESSAGE_TOO_BIG,
    NORMAL,
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    Connection,
    RealtimeHub,
    TooManyConnections,
)
from marketplace.realtime.schemas import ClientMessage, TicketRead

logger = get_logger(__name__)

router = APIRouter(tags=["live updates"])
# Under the API's principal dependency (app.api_routers), unlike the WebSocket itself.
tickets_router = APIRouter(prefix="/ws", tags=["live updates"])

REVALIDATE_SECONDS = 60.0
MAX_CLIENT_MESSAGE_CHARS = 4096
MIN_SECONDS_BETWEEN_RESUMES = 1.0
CLOSE_TIMEOUT_SECONDS = 2.0
PING = message("ping")
PONG = message("pong")
# What sending to or receiving from a connection that went away raises.
DISCONNECTED = (WebSocketDisconnect, OSError, RuntimeError)


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    platform: Platform = websocket.app.state.platform
    hub: RealtimeHub = websocket.app.state.realtime
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    try:
        credential = await service.redeem(
            platform,
            service.require(
                service.credential_of(
                    platform,
                    websocket.query_params,
                    offered,
                    websocket.cookies,
                    websocket.headers.get("origin"),
                )
            ),
        )
        user = await service.authenticate(platform, credential)
        await limit_principal(platform, websocket.scope, "user", str(user.id))
    except DomainError as error:
        await _refuse(platform, websocket, offered, error)
        return

    await websocket.accept(subprotocol=credential.subprotocol)
    connection = Connection(user.id, user.is_staff, platform.settings.realtime_queue_size)
    try:
        await hub.register(connection)
    except (BusUnavailable, TooManyConnections) as error:
        reason = "too many connections" if isinstance(error, TooManyConnections) else "busy"
        await _close(websocket, TRY_AGAIN_LATER, reason)
        return
    try:
        connection.offer(
            message(
                "welcome",
                {
                    "user_id": str(user.id),
                    "heartbeat_seconds": platform.settings.realtime_heartbeat_seconds,
                    "resume_limit": _resume_limit(platform),
                },
            )
        )
        await _serve(platform, websocket, connection, credential, user)
    finally:
        await hub.unregister(connection)


@tickets_router.post("/ticket", response_model=TicketRead, dependencies=NO_STORE)
async def issue_ticket(current: CurrentUser, platform: PlatformDep) -> TicketRead:
    """A single-use ticket for `GET /api/v1/ws?ticket=...`, valid for `expires_in`
    seconds: it keeps the access token out of the WebSocket's URL. The connection it
    opens lasts as long as the sign-in session it was issued for."""
    return await service.issue_ticket(platform, current.user.id, current.session_id)


async def _refuse(
    platform: Platform, websocket: WebSocket, offered: list[str], error: DomainError
) -> None:
    if isinstance(error, Unauthenticated):
        ip = client_ip(websocket.scope)
        await abuse.record_offence(platform, ip, "auth_failure")
        with contextlib.suppress(RateLimited):
            await count_address_if_uncounted(platform, websocket.scope)
    code = TRY_AGAIN_LATER if isinstance(error, RateLimited) else POLICY_VIOLATION
    # A browser that offered subprotocols fails the handshake unless one is chosen.
    chosen = offered[0] if offered and offered[0].lower() == service.BEARER_SUBPROTOCOL else None
    await websocket.accept(subprotocol=chosen)
    await _close(websocket, code, error.code)


def _resume_limit(platform: Platform) -> int:
    # A resume must fit in the queue beside live traffic, or it would close the
    # connection it is meant to repair.
    return max(2, min(service.RESUME_LIMIT, platform.settings.realtime_queue_size // 2))


async def _serve(
    platform: Platform,
    websocket: WebSocket,
    connection: Connection,
    credential: service.Credential,
    user: User,
) -> None:
    state = _ConnectionState()
    tasks = {
        asyncio.create_task(_receive(platform, websocket, connection, user, state)),
        asyncio.create_task(_send(websocket, connection)),
        asyncio.create_task(_heartbeat(platform, connection, credential, state)),
        asyncio.create_task(connection.close_requested.wait()),
    }
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, DISCONNECTED):
            logger.error("realtime.connection_failed", error=repr(error), exc_info=error)
            connection.request_close(1011, "internal error")
    await _close(websocket, connection.close_code or NORMAL, connection.close_reason)


class _ConnectionState:
    def __init__(self) -> None:
        self.last_seen = time.monotonic()
        self.last_resume = 0.0


async def _receive(
    platform: Platform,
    websocket: WebSocket,
    connection: Connection,
    user: User,
    state: _ConnectionState,
) -> None:
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        state.last_seen = time.monotonic()
        text = received.get("text")
        if text is None:
            connection.offer(message("error", {"code": "text-only", "detail": "send JSON text"}))
            continue
        if len(text) > MAX_CLIENT_MESSAGE_CHARS:
            connection.request_close(MESSAGE_TOO_BIG, "message too big")
            return
        try:
            parsed = ClientMessage.model_validate_json(text)
        except ValidationError:
            connection.offer(message("error", {"code": "invalid", "detail": "not understood"}))
            continue
        if parsed.type == "pong":
            continue
        if parsed.type == "ping":
            connection.offer(PONG)
        elif parsed.type == "resume" and parsed.after is not None:
            if state.last_seen - state.last_resume < MIN_SECONDS_BETWEEN_RESUMES:
                detail = "one resume per second"
                connection.offer(message("error", {"code": "too-many-resumes", "detail": detail}))
                continue
            state.last_resume = state.last_seen
            async with platform.database.session_factory() as session:
                replay = await service.resume(session, user, parsed.after, _resume_limit(platform))
            for body in replay:
                connection.offer(body)
        else:
            connection.offer(message("error", {"code": "invalid", "detail": "not understood"}))


async def _send(websocket: WebSocket, connection: Connection) -> None:
    while True:
        body = await connection.queue.get()
        await websocket.send_text(body.decode())


async def _heartbeat(
    platform: Platform,
    connection: Connection,
    credential: service.Credential,
    state: _ConnectionState,
) -> None:
    interval = platform.settings.realtime_heartbeat_seconds
    revalidate_at = time.monotonic() + REVALIDATE_SECONDS
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        if now - state.last_seen > 2 * interval:
            connection.request_close(GOING_AWAY, "heartbeat timeout")
            return
        connection.offer(PING)
        if now >= revalidate_at:
            revalidate_at = now + REVALIDATE_SECONDS
            try:
                await service.authenticate(platform, credential)
            except InvalidCredentials:
                connection.request_close(POLICY_VIOLATION, "credentials expired or revoked")
                return
            except (SQLAlchemyError, OSError) as error:
                # The database is unreachable for a moment: keep the connection; the
                # next check decides.
                logger.warning("realtime.revalidation_failed", error=repr(error))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if (
        websocket.application_state is not WebSocketState.CONNECTED
        or websocket.client_state is not WebSocketState.CONNECTED
    ):
        return
    with contextlib.suppress(*DISCONNECTED, TimeoutError):
        await asyncio.wait_for(websocket.close(code, reason[:120]), CLOSE_TIMEOUT_SECONDS)
