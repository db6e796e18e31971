"""Imports every domain's events so that every event type has its class loaded: what a
company may see of an event (`core.events.view_for`) is decided by its class, and a
type without one is shown empty. The consumers' registry imports this module, so the
worker and the API process know every event whatever else they import."""

from marketplace.abuse import events as abuse_events
from marketplace.catalog import events as catalog_events
from marketplace.catalog.categories import events as catalog_categories_events
from marketplace.catalog.imports import events as catalog_imports_events
from marketplace.catalog.price_lists import events as catalog_price_lists_events
from marketplace.companies import events as companies_events
from marketplace.identity import events as identity_events
from marketplace.messaging import events as messaging_events
from marketplace.staff import events as staff_events
from marketplace.trade import events as trade_events
from marketplace.webhooks import events as webhooks_events

__all__ = [
    "abuse_events",
    "catalog_categories_events",
    "catalog_events",
    "catalog_imports_events",
    "catalog_price_lists_events",
    "companies_events",
    "identity_events",
    "messaging_events",
    "staff_events",
    "trade_events",
    "webhooks_events",
]
