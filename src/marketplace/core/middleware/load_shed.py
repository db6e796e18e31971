"""Load shedding: at most `max_in_flight` API requests at once in this process; the
next ones wait their turn (first come, first served), and a request that has waited
longer than `queue_timeout` seconds gets a 503 problem with `Retry-After` instead of
being served late.

Without it every request a connection sends starts at once: at 1,000 connections on
two workers (issue 14) a thousand requests competed for 64 Redis connections and 20
database connections; the Redis pool ran dry (cache reads fell through to the
database, rate limits failed open), the database pool's waits ran into its timeout
(500s), and the load generator's requests into theirs, while every request in flight
slowed every other. Here the excess waits before it has taken anything, the requests
in flight finish sooner, and an overloaded process answers a clear, cheap 503 before
anything downstream times out.

The bound is on a request's age: a request whose turn comes after `queue_timeout`
seconds is refused then rather than served to a client that has likely given up, and
one still waiting at that age is refused without waiting longer. Refusing at once the
requests that the measured rate of answers says would wait too long was tried and
measured worse: a client that does not honour `Retry-After` (wrk, at 1,000
connections) sends the next request at once, and the process spent its CPU answering
4,600 503s a second while it served 1.4 requests a second; waiting out the bound first
throttles such a client to one request per connection per bound. What made requests
time out at 1,000 connections (p99 9.4 s, wrk's 10 s timeouts; bench/README.md) was
the accept queue, which no middleware sees: core/serving.py.

Only `/api/` requests count: health checks, metrics and the docs' assets stay
answered, so that an overloaded process is not taken for a dead one. WebSockets are
long-lived and bounded by the live-updates settings instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from marketplace.core.errors import ServiceUnavailable, problem_response_for
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

RETRY_AFTER_SECONDS = 1


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class LoadShedMiddleware:
    """The slots are counted here rather than by an `asyncio.Semaphore` under
    `asyncio.timeout`: a wait that times out there cancels the task and raises, and
    each such request left a reference cycle (the CancelledError, its traceback, the
    frames) for the garbage collector, thousands a second at 1,000 connections. Here a
    waiter is a future that a released slot or its timer resolves, nothing is raised,
    and a slot passes straight from the request that frees it to the first in line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limited_prefix: str,
        max_in_flight: int,
        queue_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limited_prefix = limited_prefix
        self.max_in_flight = max_in_flight
        self.queue_timeout = queue_timeout
        self.clock = clock
        self._free = max_in_flight
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self.waiting = 0
        self.shed = 0

    @property
    def in_flight(self) -> int:
        return self.max_in_flight - self._free

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.limited_prefix):
            await self.app(scope, receive, send)
            return
        if self._free and not self._waiters:
            # A free slot: taken without suspending (the common case costs ~1 us).
            self._free -= 1
        elif not await self._turn():
            await self._shed(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _turn(self) -> bool:
        """Wait in line for a slot: True once it is this request's, False when the
        request has become older than the bound (and has no slot)."""
        loop = asyncio.get_running_loop()
        arrived = self.clock()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.queue_timeout, _expire, waiter)
        self.waiting += 1
        try:
            granted = await waiter
        except asyncio.CancelledError:
            # Cancelled (the server stopping) after a slot was handed over: pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._release()
            raise
        finally:
            self.waiting -= 1
            timer.cancel()
        if granted and self.clock() - arrived > self.queue_timeout:
            # Its turn came too late (the loop was busy past the timeout): the slot
            # goes to the next in line.
            self._release()
            return False
        return granted

    def _release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # not timed out, nor cancelled
                waiter.set_result(True)
                return
        self._free += 1

    async def _shed(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.shed += 1
        if self.shed % 1000 == 1:  # a log line per thousand, not one per request
            logger.warning(
                "load_shed.rejected",
                shed=self.shed,
                in_flight=self.in_flight,
                waiting=self.waiting,
            )
        response = problem_response_for(
            ServiceUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}),
            path=scope["path"],
            accept_language=Headers(scope=scope).get("accept-language"),
            request_id=scope.get("state", {}).get("request_id"),
        )
        await response(scope, receive, send)
