"""Every domain's event consumers, in one registry (the worker and the in-process
relay both deliver to exactly these)."""

from __future__ import annotations

from marketplace.core.consumers import ConsumerRegistry


def build_registry() -> ConsumerRegistry:
    return ConsumerRegistry([])
