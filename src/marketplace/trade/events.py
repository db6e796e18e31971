"""Events of trade: orders, RFQs, quotes and reviews."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

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


class OrderPaymentRecorded(OrderEvent):
    type: ClassVar[str] = "order.payment_recorded"
    payment_id: uuid.UUID
    amount: Decimal
    currency: str
    paid_on: date
    method: str
    amount_paid: Decimal
    total: Decimal
    payment_status: str


class OrderPaid(OrderEvent):
    """The order's payments reached its total."""

    type: ClassVar[str] = "order.paid"
    currency: str
    total: Decimal
    paid_on: date


class OrderOverdue(OrderEvent):
    """Past its due date and not fully paid: emitted once per order."""

    type: ClassVar[str] = "order.overdue"
    currency: str
    total: Decimal
    amount_paid: Decimal
    due_date: date


class RfqEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "rfq"
    rfq_id: uuid.UUID
    buyer_id: uuid.UUID
    title: str
    # Suppliers entitled to hear about it (invited ones; public RFQs reach the
    # suppliers through the marketplace, not through their private feeds).
    supplier_ids: list[uuid.UUID] = Field(default_factory=list)

    def aggregate_id(self) -> uuid.UUID:
        return self.rfq_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.buyer_id, *self.supplier_ids]


class RfqPublished(RfqEvent):
    type: ClassVar[str] = "rfq.published"
    visibility: str
    deadline: str


class RfqStatusChanged(RfqEvent):
    type: ClassVar[str] = "rfq.status_changed"
    status: str


class RfqAwarded(RfqEvent):
    type: ClassVar[str] = "rfq.awarded"
    order_ids: list[uuid.UUID]


class QuoteEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "quote"
    quote_id: uuid.UUID
    rfq_id: uuid.UUID
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    revision: int

    def aggregate_id(self) -> uuid.UUID:
        return self.quote_id

    def company_ids(self) -> list[uuid.UUID]:
        # A quote concerns its supplier and the buyer only: never other suppliers.
        return [self.buyer_id, self.supplier_id]


class QuoteSubmitted(QuoteEvent):
    type: ClassVar[str] = "quote.submitted"


class QuoteWithdrawn(QuoteEvent):
    type: ClassVar[str] = "quote.withdrawn"


class ReviewCreated(DomainEvent):
    """A buyer rated a supplier after a completed order."""

    type: ClassVar[str] = "review.created"
    aggregate_type: ClassVar[str] = "review"
    review_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    rating: int

    def aggregate_id(self) -> uuid.UUID:
        return self.review_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.buyer_id, self.supplier_id]
