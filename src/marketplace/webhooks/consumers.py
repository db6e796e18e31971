"""The "webhooks" consumer: turns every event into deliveries for the endpoints of the
companies entitled to it. The sending happens later, in the sender loop."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.consumers import ALL_EVENTS, Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.webhooks import service


async def create_deliveries(
    session: AsyncSession, platform: Platform, events: Sequence[EventEnvelope]
) -> None:
    await service.create_deliveries(session, platform, events)


WEBHOOKS_CONSUMER = Consumer.batched("webhooks", create_deliveries, frozenset({ALL_EVENTS}))
