"""Event tests run on committed data with real sessions, a real RabbitMQ, and a TCP
proxy in front of RabbitMQ that a test can cut and restore (broker outage drill)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar
from urllib.parse import urlsplit

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.consumers import Consumer
from marketplace.core.events import DomainEvent, EventEnvelope
from marketplace.core.platform import Platform
from marketplace.settings import Settings
from tests.conftest import AMQP_URL, make_settings


class ProbeHappened(DomainEvent):
    """A test-only event about a probe aggregate."""

    type: ClassVar[str] = "probe.happened"
    aggregate_type: ClassVar[str] = "probe"
    probe_id: uuid.UUID
    company_id: uuid.UUID
    note: str = ""

    def aggregate_id(self) -> uuid.UUID:
        return self.probe_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.company_id]


async def record_effect(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
    """A consumer whose effect is a row: counting rows counts effects."""
    await session.execute(
        text("INSERT INTO probe_effects (event_id, note) VALUES (:id, :note)"),
        {"id": event.id, "note": event.payload.get("note", "")},
    )


RECORDER = Consumer(
    name="probe-recorder", handler=record_effect, event_types=frozenset({"probe.happened"})
)


@pytest.fixture
async def effects(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS probe_effects "
        "(event_id uuid, note text, at timestamptz DEFAULT now())"
    )
    await connection.execute("TRUNCATE probe_effects")
    await connection.execute("DELETE FROM outbox_events")
    await connection.execute("DELETE FROM processed_events")
    yield connection
    await connection.execute("TRUNCATE probe_effects")
    await connection.close()


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    started = await Platform.start(make_settings(database_url=database_url))
    yield started
    await started.close()


class TcpProxy:
    """Forwards a local port to RabbitMQ; `cut()` drops every connection and refuses
    new ones until `restore()`: the broker "goes away" for the client."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, upstream_writer})
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    def url(self) -> str:
        parts = urlsplit(AMQP_URL)
        return parts._replace(
            netloc=f"{parts.username}:{parts.password}@127.0.0.1:{self.port}"
        ).geturl()


@pytest.fixture
async def broker_proxy() -> AsyncIterator[TcpProxy]:
    parts = urlsplit(AMQP_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.cut()


def amqp_settings(database_url: str, amqp_url: str) -> Settings:
    return make_settings(database_url=database_url, amqp_url=amqp_url)
