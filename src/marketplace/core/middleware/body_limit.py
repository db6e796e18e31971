"""Refuse request bodies above the configured size with `413`, declared or streamed."""

from __future__ import annotations

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
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body_bytes
            except ValueError:
                too_large = False
            if too_large:
                await self._reject(scope, receive, send, headers)
                return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
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
            await self._reject(scope, receive, send, headers)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        response = problem_response_for(
            PayloadTooLarge(limit=self.max_body_bytes),
            path=scope["path"],
            accept_language=headers.get("accept-language"),
            request_id=scope.get("state", {}).get("request_id"),
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
