"""Refuse request bodies above the configured size with `413`, declared or streamed.

One limit for every route, except the upload routes given their own (a catalog CSV or
an image is larger than any JSON body): `path_limits` maps a path pattern (a regular
expression matched against the whole path) to its limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.core.errors import PayloadTooLarge, problem_response_for


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive`; an HTTPException so that FastAPI's body parsing passes it
    through instead of turning it into a generic 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413)
        self.problem = PayloadTooLarge(limit=limit)


class BodySizeLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_max_body_bytes = max_body_bytes
        self.path_limits = [
            (re.compile(pattern), limit) for pattern, limit in (path_limits or {}).items()
        ]

    def _limit_for(self, path: str) -> int:
        for pattern, limit in self.path_limits:
            if pattern.fullmatch(path):
                return limit
        return self.default_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])

        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False
            if too_large:
                await self._reject(scope, receive, send, headers, limit)
                return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await self._reject(scope, receive, send, headers, limit)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, limit: int
    ) -> None:
        response = problem_response_for(
            PayloadTooLarge(limit=limit),
            path=scope["path"],
            accept_language=headers.get("accept-language"),
            request_id=scope.get("state", {}).get("request_id"),
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
