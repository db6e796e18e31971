"""Request id, access log and the last line of defence against unhandled errors.

Pure ASGI so it costs one function call per request on the hot path.
"""

from __future__ import annotations

import os
import re
import time

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.core.client_ip import client_ip
from marketplace.core.error_tracking import report_exception, tag_request
from marketplace.core.errors import internal_error_response
from marketplace.core.i18n import negotiate_language, set_language
from marketplace.core.logging import get_logger

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")

access_logger = get_logger("marketplace.access")
error_logger = get_logger("marketplace.errors")


def incoming_request_id(headers: Headers) -> str:
    candidate = headers.get(REQUEST_ID_HEADER)
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    # 128 random bits as 32 hex digits, the form a uuid4's hex had, at a third of its
    # cost (uuid4 builds an int and a UUID object: 2.7% of `/health/live`, py-spy).
    return os.urandom(16).hex()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        request_id = incoming_request_id(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        set_language(negotiate_language(headers.get("accept-language")))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        tag_request(request_id)

        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as error:
            error_logger.exception(
                "request.unhandled_error", method=scope.get("method"), path=scope["path"]
            )
            report_exception(error)
            if response_started or scope["type"] != "http":
                raise
            response = internal_error_response(
                scope["path"], headers.get("accept-language"), request_id
            )
            await response(scope, receive, send_with_request_id)
        finally:
            if scope["type"] == "http":
                access_logger.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status_code,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    # As resolved by the client-address middleware (proxies honoured).
                    client=client_ip(scope),
                )
            structlog.contextvars.clear_contextvars()
