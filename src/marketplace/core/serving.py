"""The event loop `marketplace serve` gives uvicorn: uvloop, with a listening socket that
accepts every waiting connection at once.

uvloop's libuv (1.52) accepts one connection per turn of the event loop. Under load a
turn takes 20-100 ms (every request step that became ready runs in it), so a burst of
connections waits in the kernel's accept queue: measured with strace at 1,000
connections on a saturated worker, one `accept4` per `epoll_pwait`, about 50 accepted
per second, 1,173 connections still queued two seconds in. Their requests were not
read for 10 s and more: the load generator's timeouts (bench/README.md, the sweep at
1,000 connections), which the load shedder cannot prevent because the requests never
reach the application. Here a second watcher on the same socket (a duplicate of its
file descriptor) takes everything the kernel holds in one turn; each connection is then
handed to uvloop as an accepted socket, served by the same protocol as the others. The
load shedder (core/middleware/load_shed.py) then sees every request and answers the
excess with 503 at once instead of leaving it unseen.

asyncio's own loop accepts in bulk too, but costs about 10% more CPU per request on the
lightest path (`/health/live`, 0.22 -> 0.25 ms, measured interleaved).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from typing import Any

import uvloop

from marketplace.core.logging import get_logger

logger = get_logger(__name__)

# At most this many connections accepted per readiness of the socket: a bound on one
# turn's work (uvicorn's default listen backlog is 2,048).
ACCEPT_BATCH = 1024
# After a failing accept (out of file descriptors or memory) the socket stays readable:
# watching it again only after a pause keeps the loop from spinning on it.
ACCEPT_PAUSE_SECONDS = 0.1


class BulkAccept:
    """Accepts every connection waiting on `listener` (a duplicate of the server's
    socket) whenever it is readable, and hands each to the loop's protocol factory."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listening: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
    ) -> None:
        self.loop = loop
        self.protocol_factory = protocol_factory
        self.listener = socket.socket(
            listening.family, listening.type, listening.proto, fileno=os.dup(listening.fileno())
        )
        self.listener.setblocking(False)
        self.handshakes: set[asyncio.Task[Any]] = set()
        self.failures = 0
        self.closed = False
        loop.add_reader(self.listener.fileno(), self.accept_waiting)

    def accept_waiting(self) -> int:
        accepted = 0
        while accepted < ACCEPT_BATCH:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                break
            except OSError as error:  # EMFILE, ENFILE, ENOBUFS: out of descriptors or memory
                self.failures += 1
                if self.failures % 100 == 1:  # a line per hundred, not one per pause
                    logger.warning("accept.failed", error=str(error), failures=self.failures)
                self.loop.remove_reader(self.listener.fileno())
                self.loop.call_later(ACCEPT_PAUSE_SECONDS, self._watch_again)
                break
            connection.setblocking(False)
            accepted += 1
            task = self.loop.create_task(self._serve(connection))
            self.handshakes.add(task)
            task.add_done_callback(self.handshakes.discard)
        return accepted

    async def _serve(self, connection: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol_factory, connection)
        except OSError:  # the client went away before it was served
            connection.close()

    def _watch_again(self) -> None:
        if not self.closed:
            self.loop.add_reader(self.listener.fileno(), self.accept_waiting)

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.listener.fileno())
        self.listener.close()


class BulkAcceptServer:
    """uvloop's server with its sockets also watched by `BulkAccept`; closing it closes
    both. What uvicorn uses of a server: `sockets`, `close()`, `wait_closed()`."""

    def __init__(self, server: asyncio.AbstractServer, accepts: list[BulkAccept]) -> None:
        self.server = server
        self.accepts = accepts

    @property
    def sockets(self) -> Any:
        return self.server.sockets  # type: ignore[attr-defined]

    def close(self) -> None:
        for accept in self.accepts:
            accept.close()
        self.server.close()

    async def wait_closed(self) -> None:
        await self.server.wait_closed()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)


class Loop(uvloop.Loop):
    async def create_server(  # type: ignore[override]
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> BulkAcceptServer:
        server: Any = await super().create_server(protocol_factory, *args, **kwargs)
        accepts = [
            BulkAccept(self, listening, protocol_factory)
            for listening in server.sockets
            if listening.type == socket.SOCK_STREAM and kwargs.get("ssl") is None
        ]
        return BulkAcceptServer(server, accepts)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's `loop` option (`marketplace.core.serving:new_event_loop`): a custom
    value is the loop factory itself."""
    return Loop()
