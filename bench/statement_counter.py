"""Count the SQL statements a client sends PostgreSQL, on the wire.

A TCP proxy on 127.0.0.1 in front of the PostgreSQL server: the service under test points
its `DATABASE_URL` at the proxy, and the proxy reads the frontend messages of the
PostgreSQL protocol as they pass. Each `Query` message (the simple protocol: `BEGIN`,
`COMMIT`, `SET ...`) and each `Execute` message (the extended protocol: one run of a
prepared statement, which is what asyncpg sends for every parameterised statement) is one
statement, one round trip's worth of work for the server. The statement's text is taken
from the `Parse` message that prepared it, so that a count can be broken down by statement.

Why on the wire: `pg_stat_statements` needs `shared_preload_libraries` (a server restart,
not ours to do on a shared server), `log_statement` writes to a log we would have to find
and parse, and `pg_stat_database` counts transactions, not statements. The proxy costs
CPU and a hop per round trip, so the suite counts statements on a separate instance of
the service in a phase of its own, never while it measures throughput.

    counter = StatementCounter("127.0.0.1", 5432)
    port = counter.start()            # point DATABASE_URL at 127.0.0.1:<port>
    before = counter.snapshot()
    ...                               # the requests
    counter.since(before)             # {statement text: executions}
    counter.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import Counter

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
CHUNK_BYTES = 64 * 1024
STATEMENT_TEXT_CHARS = 160


def _short(sql: str) -> str:
    return " ".join(sql.split())[:STATEMENT_TEXT_CHARS]


class _FrontendParser:
    """Reads one client's stream of frontend messages and counts the statements."""

    def __init__(self, counts: Counter[str], lock: threading.Lock) -> None:
        self.buffer = bytearray()
        self.started = False  # past the untyped start-up messages
        self.prepared: dict[bytes, str] = {}  # statement name -> text
        self.portals: dict[bytes, str] = {}  # portal name -> text
        self.counts = counts
        self.lock = lock

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                (length,) = struct.unpack_from("!i", self.buffer, 0)
                if len(self.buffer) < length:
                    return
                (code,) = struct.unpack_from("!i", self.buffer, 4)
                del self.buffer[:length]
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    self.started = True  # the start-up message (or a cancel request)
                continue
            if len(self.buffer) < 5:
                return
            kind = bytes(self.buffer[0:1])
            (length,) = struct.unpack_from("!i", self.buffer, 1)
            if len(self.buffer) < 1 + length:
                return
            body = bytes(self.buffer[5 : 1 + length])
            del self.buffer[: 1 + length]
            self._message(kind, body)

    def _message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self._count(body.split(b"\x00", 1)[0].decode(errors="replace"))
        elif kind == b"P":
            name, rest = body.split(b"\x00", 1)
            self.prepared[name] = rest.split(b"\x00", 1)[0].decode(errors="replace")
        elif kind == b"B":
            portal, rest = body.split(b"\x00", 1)
            statement = rest.split(b"\x00", 1)[0]
            self.portals[portal] = self.prepared.get(statement, "?")
        elif kind == b"E":
            portal = body.split(b"\x00", 1)[0]
            self._count(self.portals.get(portal, "?"))
        elif kind == b"C" and body[:1] == b"S":  # Close of a prepared statement
            self.prepared.pop(body[1:].split(b"\x00", 1)[0], None)

    def _count(self, sql: str) -> None:
        with self.lock:
            self.counts[_short(sql)] += 1


class StatementCounter:
    """A counting proxy served by its own thread and event loop."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    def start(self) -> int:
        self._thread = threading.Thread(target=self._serve, name="statement-counter", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the statement counter did not start")
        return self.port

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=CHUNK_BYTES)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

    async def _handle(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.target_host, self.target_port, limit=CHUNK_BYTES
            )
        except OSError:
            client_writer.close()
            return
        parser = _FrontendParser(self.counts, self.lock)

        async def pump(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parse: bool
        ) -> None:
            try:
                while data := await reader.read(CHUNK_BYTES):
                    if parse:
                        parser.feed(data)
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        await asyncio.gather(
            pump(client_reader, server_writer, True), pump(server_reader, client_writer, False)
        )

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)

    def since(self, before: Counter[str]) -> Counter[str]:
        now = self.snapshot()
        now.subtract(before)
        return Counter({sql: count for sql, count in now.items() if count > 0})

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            with contextlib.suppress(RuntimeError):
                self._thread.join(10)
