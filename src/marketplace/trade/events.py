"""Events of trade: orders (RFQ and quote events join them here)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from marketplace.core.events import DomainEvent


class OrderEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "order"
    order_id: uuid.UUID
    number: str
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID

    def aggregate_id(self) -> uuid.UUID:
        return self.order_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.buyer_id, self.supplier_id]


class OrderPlaced(OrderEvent):
    type: ClassVar[str] = "order.placed"
    status: str
    currency: str
    total: Decimal
    source: str


class OrderStatusChanged(OrderEvent):
    type: ClassVar[str] = "order.status_changed"
    action: str
    from_status: str
    to_status: str
    reason: str | None = None
