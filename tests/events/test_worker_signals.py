"""A real worker process stopped in the middle of a batch of events (tests/events/
probe_worker.py: the real `run_worker`, a consumer that takes its time before commit).

SIGTERM: it stops taking messages, finishes every handler it started (each commits and
is acknowledged), and exits 0; the messages it had not started go back to the queue.
SIGKILL: the handlers in flight die before their commit; the broker redelivers their
messages. Either way a second worker then applies every event exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from marketplace.core.broker import RETRY_DELAYS_SECONDS, AmqpPublisher
from marketplace.core.consumers import Consumer
from marketplace.core.events import emit
from marketplace.core.outbox import OutboxRelay
from marketplace.core.platform import Platform
from tests.cli.test_embedded_postgres import free_port
from tests.conftest import AMQP_URL, TEST_SECRET_KEY
from tests.events.conftest import ProbeHappened, record_effect
from tests.events.test_outbox import eventually
from tests.events.test_worker import amqp_platform, delete_queues

__all__ = ["amqp_platform"]
pytestmark = pytest.mark.slow

# More than the worker's prefetch (16): on SIGTERM some were never delivered to it.
EVENTS = 40
REPO = Path(__file__).resolve().parents[2]


class ProbeWorker:
    def __init__(self, database_url: str, name: str, seconds: float, log: Path) -> None:
        self.port = free_port()
        self.log = log
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "AMQP_URL": AMQP_URL,
            "LOG_LEVEL": "WARNING",
            # Fewer connections than prefetched messages: handlers queue for the pool.
            "DATABASE_POOL_SIZE": "3",
            "DATABASE_MAX_OVERFLOW": "1",
        }
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.events.probe_worker",
                    name,
                    str(self.port),
                    f"{seconds}",
                ],
                stdin=subprocess.PIPE,
                cwd=log.parent,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def go(self) -> None:
        """Let it start working, and wait until it consumes."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()
        await self.wait_connected()

    async def wait_connected(self) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(600):
                assert self.process.poll() is None, self.log.read_text()
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the worker did not connect")

    def lines(self, kind: str, events: set[str]) -> set[str]:
        """The events of `events` it printed `kind` (start, done) for."""
        words = (line.split() for line in self.log.read_text().splitlines())
        return {words[1] for words in words if words[:1] == [kind] and words[1] in events}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


async def publish_probes(platform: Platform, count: int) -> set[str]:
    """`count` events committed in one transaction and relayed to RabbitMQ."""
    async with platform.database.session_factory() as session:
        ids = set()
        for _ in range(count):
            probe = ProbeHappened(probe_id=uuid.uuid4(), company_id=uuid.uuid4())
            ids.add(str((await emit(session, probe)).id))
        await session.commit()
    publisher = AmqpPublisher(AMQP_URL)
    try:
        await OutboxRelay(platform.database, publisher).run_once()
    finally:
        await publisher.close()
    return ids


async def effects_by_event(effects: asyncpg.Connection, events: set[str]) -> dict[str, int]:
    """Effects of these events (the exchange is shared: other runs' probes reach the
    queue too)."""
    rows = await effects.fetch(
        "SELECT event_id, count(*) AS n FROM probe_effects WHERE event_id = ANY($1::uuid[]) "
        "GROUP BY 1",
        list(events),
    )
    return {str(row["event_id"]): int(row["n"]) for row in rows}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
async def test_a_worker_stopped_mid_batch_loses_no_event_and_applies_none_twice(
    stop_signal: signal.Signals,
    database_url: str,
    amqp_platform: Platform,
    effects: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    name = f"test-signal-{uuid.uuid4().hex[:8]}"
    first = ProbeWorker(database_url, name, 0.5, tmp_path / "first.log")
    second = ProbeWorker(database_url, name, 0.0, tmp_path / "second.log")
    try:
        await first.go()
        events = await publish_probes(amqp_platform, EVENTS)
        assert await eventually(lambda: _some_applied(effects, events), True, within_seconds=30)
        if stop_signal is signal.SIGKILL:
            # Killed while a handler is between its start and its commit (each takes 0.5 s
            # before committing, a batch of them longer). The worker takes the messages
            # that arrived during a batch in its next one, so the moment right after a
            # commit has none in flight: wait for one, or the kill may find nothing to lose.
            assert await eventually(
                lambda: _one_in_flight(first, effects, events), True, within_seconds=30
            )
        first.process.send_signal(stop_signal)
        exit_code = await asyncio.to_thread(first.process.wait, 40)
        applied_by_first = await effects_by_event(effects, events)
        assert 0 < len(applied_by_first) < EVENTS, "stopped mid-batch"
        if stop_signal is signal.SIGTERM:
            assert exit_code == 0, first.log.read_text()
            # Every handler it started, it finished and committed.
            started, done = first.lines("start", events), first.lines("done", events)
            assert started == done == set(applied_by_first)
        else:
            assert exit_code == -signal.SIGKILL
            assert first.lines("start", events) - set(applied_by_first), "some died before commit"

        await second.go()
        assert await eventually(lambda: _all_applied(effects, events), True, within_seconds=60), (
            await effects_by_event(effects, events)
        )
        await asyncio.sleep(0.5)  # any duplicate delivery would have landed by now
        assert await effects_by_event(effects, events) == dict.fromkeys(events, 1)
    finally:
        first.stop()
        second.stop()
        consumer = Consumer(name=name, handler=record_effect, event_types=frozenset())
        await delete_queues(consumer, len(RETRY_DELAYS_SECONDS))


async def _some_applied(effects: asyncpg.Connection, events: set[str]) -> bool:
    return len(await effects_by_event(effects, events)) >= 2


async def _one_in_flight(
    worker: ProbeWorker, effects: asyncpg.Connection, events: set[str]
) -> bool:
    """A handler of `worker` has started and not committed."""
    started = worker.lines("start", events)
    return bool(started - set(await effects_by_event(effects, events)))


async def _all_applied(effects: asyncpg.Connection, events: set[str]) -> bool:
    return set(await effects_by_event(effects, events)) >= events
