"""`python -m tests.events.probe_worker NAME PORT SECONDS`: a worker process (the real
`run_worker`, with its signal handling) whose one consumer, NAME, records each probe
event as a row and then takes SECONDS before its transaction commits. It prints
`start <event id>` and `done <event id>` around each handler, for the signal tests.

It starts working when a line arrives on its standard input: a test starts it early
and lets it go later, so the imports' cost overlaps other work."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.consumers import Consumer, ConsumerRegistry
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.settings import Settings
from marketplace.worker import run_worker


async def main(name: str, port: int, seconds: float) -> None:
    async def slow_record(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
        print(f"start {event.id}", flush=True)  # noqa: T201
        # tests/events/conftest.py's `record_effect`, without importing the test suite.
        await session.execute(
            text("INSERT INTO probe_effects (event_id) VALUES (:id)"), {"id": event.id}
        )
        await asyncio.sleep(seconds)
        print(f"done {event.id}", flush=True)  # noqa: T201

    consumer = Consumer(name=name, handler=slow_record, event_types=frozenset({"probe.happened"}))
    platform = await Platform.start(Settings())
    try:
        await run_worker(platform, ConsumerRegistry([consumer]), "127.0.0.1", port)
    finally:
        await platform.close()


if __name__ == "__main__":
    sys.stdin.readline()
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
