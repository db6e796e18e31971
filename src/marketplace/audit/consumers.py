"""The "audit" consumer: every audited event becomes one audit_events row. The row
and the inbox entry commit together; the row's unique event id makes a redelivery a
no-op even without the inbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit import service
from marketplace.core.consumers import ALL_EVENTS, Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform


async def record_events(
    session: AsyncSession, platform: Platform, events: Sequence[EventEnvelope]
) -> None:
    await service.record(session, events)


AUDIT = Consumer.batched("audit", record_events, frozenset({ALL_EVENTS}))
