"""The "realtime" consumer: every committed event goes to the bus, addressed to the
users entitled to it at this moment (members of its companies; staff for events of
no company).

Published from inside the handler, in event order: the event itself is already
committed (it comes from the outbox), only the inbox row is not; should that commit
fail, the retry publishes the same event id again, which clients dedupe. A bus
failure is logged and not retried: a live update is worthless late, it must not
hold up other consumers' events, and clients catch up with `resume`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.bus import BUS_ERRORS, bus_for, staff_channel, user_channel
from marketplace.core.consumers import Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform
from marketplace.realtime import service
from marketplace.realtime.schemas import event_message

logger = get_logger(__name__)


async def publish_events(
    session: AsyncSession, platform: Platform, envelopes: Sequence[EventEnvelope]
) -> None:
    bus = bus_for(platform)
    members = await service.members_of(
        session, {company_id for envelope in envelopes for company_id in envelope.company_ids}
    )
    messages: list[tuple[str, bytes]] = []
    for envelope in envelopes:
        if envelope.company_ids:
            # Each user gets the event as their companies may see it (`seen_by`).
            for companies, users in service.entitled_users(members, envelope).items():
                shown = envelope.seen_by(companies)
                if shown is None:  # the event's rule hides it from these companies
                    continue
                body = event_message(shown)
                messages.extend((user_channel(bus, user_id), body) for user_id in users)
        else:
            messages.append((staff_channel(bus), event_message(envelope)))
    if not messages:
        return
    try:
        await bus.publish(messages)
    except BUS_ERRORS as error:
        logger.warning(
            "realtime.publish_failed",
            event_ids=[str(envelope.id) for envelope in envelopes],
            error=repr(error),
        )


REALTIME = Consumer.batched("realtime", publish_events)
