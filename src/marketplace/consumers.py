"""Every domain's event consumers, in one registry (the worker and the in-process
relay both deliver to exactly these)."""

from __future__ import annotations

from marketplace.catalog.consumers import CATALOG_CACHE
from marketplace.core.consumers import ConsumerRegistry


def build_registry() -> ConsumerRegistry:
    return ConsumerRegistry([CATALOG_CACHE])
