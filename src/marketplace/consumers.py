"""Every domain's event consumers, in one registry (the worker and the in-process
relay both deliver to exactly these)."""

from __future__ import annotations

from marketplace import all_events
from marketplace.audit.consumers import AUDIT
from marketplace.catalog.consumers import CATALOG_CACHE
from marketplace.core.consumers import ConsumerRegistry
from marketplace.notifications.consumers import NOTIFICATIONS
from marketplace.realtime.consumers import REALTIME
from marketplace.trade.reviews.consumers import TRUST_CACHE
from marketplace.webhooks.consumers import WEBHOOKS_CONSUMER

# Every event's class, for what each company may see of it (core.events.view_for).
__all__ = ["all_events", "build_registry"]


def build_registry() -> ConsumerRegistry:
    return ConsumerRegistry(
        [AUDIT, WEBHOOKS_CONSUMER, CATALOG_CACHE, TRUST_CACHE, NOTIFICATIONS, REALTIME]
    )
