"""Imports every domain's models so that `Base.metadata` knows all tables (Alembic)."""

from marketplace.abuse import models as abuse_models
from marketplace.audit import models as audit_models
from marketplace.catalog import models as catalog_models
from marketplace.catalog.categories import models as catalog_categories_models
from marketplace.catalog.imports import models as catalog_imports_models
from marketplace.catalog.price_lists import models as catalog_price_lists_models
from marketplace.catalog.search import models as catalog_search_models
from marketplace.companies import models as companies_models
from marketplace.core import idempotency as idempotency_models
from marketplace.core import outbox as outbox_models
from marketplace.core.db import Base
from marketplace.identity import models as identity_models
from marketplace.messaging import models as messaging_models
from marketplace.notifications import models as notifications_models
from marketplace.trade import models as trade_models
from marketplace.webhooks import models as webhooks_models

__all__ = [
    "Base",
    "abuse_models",
    "audit_models",
    "catalog_categories_models",
    "catalog_imports_models",
    "catalog_models",
    "catalog_price_lists_models",
    "catalog_search_models",
    "companies_models",
    "idempotency_models",
    "identity_models",
    "messaging_models",
    "notifications_models",
    "outbox_models",
    "trade_models",
    "webhooks_models",
]
