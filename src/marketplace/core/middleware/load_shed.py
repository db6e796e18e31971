"""Load shedding: at most `max_in_flight` API requests at once in this process; the
next ones wait their turn (first come, first served) up to `queue_timeout` seconds,
then get a 503 problem with `Retry-After`.

Without it every request a connection sends starts at once: at 1,000 connections on
two workers (issue 14) a thousand requests competed for 64 Redis connections and 20
database connections; the Redis pool ran dry (cache reads fell through to the
database, rate limits failed open), the database pool's waits ran into its timeout
(500s), and the load generator's requests into theirs, while every request in flight
slowed every other. Here the excess waits before it has taken anything, the requests
in flight finish sooner, and an overloaded process answers a clear, cheap 503 before
anything downstream times out. The wait is bounded by time; the number of waiting
requests is bounded by the connections the server accepts.

Only `/api/` requests count: health checks, metrics and the docs' assets stay
answered, so that an overloaded process is not taken for a dead one. WebSockets are
long-lived and bounded by the live-updates settings instead.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from marketplace.core.errors import ServiceUnavailable, problem_response_for
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

RETRY_AFTER_SECONDS = 1


class LoadShedMiddleware:
    def __init__(
        self, app: ASGIApp, *, limited_prefix: str, max_in_flight: int, queue_timeout: float
    ) -> None:
        self.app = app
        self.limited_prefix = limited_prefix
        self.max_in_flight = max_in_flight
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self.shed = 0

    @property
    def in_flight(self) -> int:
        return self.max_in_flight - self._slots._value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.limited_prefix):
            await self.app(scope, receive, send)
            return
        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout(self.queue_timeout):
                    await slots.acquire()
            except TimeoutError:
                await self._shed(scope, receive, send)
                return
        else:
            # A free slot: taken without suspending (the common case costs ~1 us).
            await slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _shed(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.shed += 1
        if self.shed % 1000 == 1:  # a log line per thousand, not one per request
            logger.warning("load_shed.rejected", shed=self.shed, in_flight=self.in_flight)
        response = problem_response_for(
            ServiceUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}),
            path=scope["path"],
            accept_language=Headers(scope=scope).get("accept-language"),
            request_id=scope.get("state", {}).get("request_id"),
        )
        await response(scope, receive, send)
