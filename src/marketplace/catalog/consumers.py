"""Catalog consumers of other domains' events.

A product's cached public detail shows its supplier (name, country, verification)
and exists only while the supplier is verified; the companies domain announces such
changes as events, and this consumer drops the supplier's cached products after
their commit. Idempotent: deleting cache entries twice changes nothing.

The catalog's own events (`product.*`, `price_list.*`, `buyer_group.*`) are not
listed: a product write deletes its entries itself, at once and again after its
commit (`caching.invalidate_products`), which an event consumed later could only
repeat; price lists and buyer groups never enter the shared cache.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.core.consumers import Consumer
from marketplace.core.events import EventEnvelope
from marketplace.core.platform import Platform

# Events whose aggregate is a company and that change what its products' detail shows
# or whether they are public at all.
SUPPLIER_EVENTS: Final = frozenset(
    {
        "company.updated",
        "company.verified",
        "company.verification_submitted",
        "company.verification_rejected",
        "company.verification_reset",
    }
)


async def refresh_supplier_products(
    session: AsyncSession, platform: Platform, event: EventEnvelope
) -> None:
    if event.aggregate_type != "company":
        return
    await caching.invalidate_supplier(session, platform.cache, event.aggregate_id)


CATALOG_CACHE: Final = Consumer(
    name="catalog-cache", handler=refresh_supplier_products, event_types=SUPPLIER_EVENTS
)
