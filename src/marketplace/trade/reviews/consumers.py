"""Drop a supplier's cached trust signals when the trade data behind them changes.

Reviews drop the entry in their own request (service.create_review); deliveries, first
quotes (other parts of trade) and supplier messages (messaging) announce themselves as
events, handled here after their commit. Idempotent: deleting an entry twice changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.consumers import Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform
from marketplace.trade.reviews.service import forget_trust

TRUST_EVENTS: Final = frozenset(
    {"review.created", "order.status_changed", "quote.submitted", "message.posted"}
)


def _changes_trust(event: EventEnvelope) -> bool:
    if event.type == "order.status_changed":
        # Only a delivery adds to the on-time figures (completion keeps the order in).
        return event.payload.get("to_status") == "delivered"
    if event.type == "quote.submitted":
        # A revision keeps the first answer's time.
        return event.payload.get("revision") == 1
    if event.type == "message.posted":
        # Only the supplier's message answers a turn (an unanswered one is not counted).
        return event.payload.get("author_company_id") == event.payload.get("supplier_id")
    return True


async def refresh_trust(session: AsyncSession, platform: Platform, event: EventEnvelope) -> None:
    supplier_id = event.payload.get("supplier_id")
    if supplier_id is None or not _changes_trust(event):
        return
    await forget_trust(session, platform.cache, uuid.UUID(str(supplier_id)))


TRUST_CACHE: Final = Consumer(name="trust-cache", handler=refresh_trust, event_types=TRUST_EVENTS)
