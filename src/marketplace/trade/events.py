"""Events of trade: orders, RFQs, quotes and reviews."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace.core.events import HIDDEN, DomainEvent, EventView
from marketplace.trade.orders.state_machine import is_buyers_note, reaches_supplier

if TYPE_CHECKING:
    from marketplace.trade.models import Order


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

    @classmethod
    def view(
        cls, payload: dict[str, Any], company_ids: list[uuid.UUID], viewers: frozenset[str]
    ) -> EventView:
        """The buyer sees every event of its order; the supplier what reaches it
        (`supplier_view`): nothing of the order while it waits for the buyer's approval,
        never the buyer's notes on that decision."""
        if str(payload.get("buyer_id")) in viewers:
            return EventView(company_ids, payload)
        shown = cls.supplier_view(payload)
        return HIDDEN if shown is None else EventView(company_ids, shown)

    @classmethod
    def supplier_view(cls, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload as the supplier sees it; None when the event is not for it.
        Events that can only happen to a placed order (payments, overdue) are shown."""
        return payload


def order_parties(order: Order) -> dict[str, Any]:
    """The fields every event about an order starts with."""
    return {
        "order_id": order.id,
        "number": order.number,
        "buyer_id": order.buyer_id,
        "supplier_id": order.supplier_id,
    }


class OrderPlaced(OrderEvent):
    """Placed with the supplier (`status` "placed"), or waiting for the approval of the
    buyer's owners or admins ("pending_approval"), which the supplier is not shown."""

    type: ClassVar[str] = "order.placed"
    status: str
    currency: str
    total: Decimal
    source: str

    @classmethod
    def supplier_view(cls, payload: dict[str, Any]) -> dict[str, Any] | None:
        return payload if reaches_supplier(None, str(payload.get("status"))) else None


class OrderStatusChanged(OrderEvent):
    type: ClassVar[str] = "order.status_changed"
    action: str
    from_status: str
    to_status: str
    reason: str | None = None

    @classmethod
    def supplier_view(cls, payload: dict[str, Any]) -> dict[str, Any] | None:
        from_status = payload.get("from_status")
        if not reaches_supplier(from_status, str(payload.get("to_status"))):
            return None
        if is_buyers_note(from_status):
            return {**payload, "reason": None}
        return payload


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


class OrderPaymentReversed(OrderEvent):
    """A recorded payment no longer counts (recorded by mistake, refunded)."""

    type: ClassVar[str] = "order.payment_reversed"
    payment_id: uuid.UUID
    amount: Decimal
    currency: str
    reason: str
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

    @classmethod
    def view(
        cls, payload: dict[str, Any], company_ids: list[uuid.UUID], viewers: frozenset[str]
    ) -> EventView:
        """Which suppliers an RFQ involves is the buyer's business: a supplier sees the
        buyer and itself, never the other suppliers (invited, quoting or awarded)."""
        if str(payload.get("buyer_id")) in viewers:
            return EventView(company_ids, payload)
        return EventView(
            [
                company
                for company in company_ids
                if str(company) in viewers or str(company) == str(payload.get("buyer_id"))
            ],
            cls.supplier_view(payload, viewers),
        )

    @classmethod
    def supplier_view(cls, payload: dict[str, Any], viewers: frozenset[str]) -> dict[str, Any]:
        return {
            **payload,
            "supplier_ids": [
                supplier for supplier in payload.get("supplier_ids", []) if supplier in viewers
            ],
        }


class RfqPublished(RfqEvent):
    type: ClassVar[str] = "rfq.published"
    visibility: str
    deadline: str


class RfqStatusChanged(RfqEvent):
    type: ClassVar[str] = "rfq.status_changed"
    status: str


class RfqAward(BaseModel):
    """The order one awarded supplier got."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supplier_id: uuid.UUID
    order_id: uuid.UUID
    # False while the order waits for the buyer's approval (a purchaser over the
    # spending limit): its supplier is told of the award only once it is approved
    # (`RfqAwardReleased`). Absent from events stored before it existed: released.
    released: bool = True


class RfqAwarded(RfqEvent):
    """Version 2: `awards` (supplier and order) replaced `order_ids`, so that each
    supplier can be shown its own order and not its competitors'. A supplier is shown
    only its awards whose order was released to it: one whose order waits for the
    buyer's approval learns nothing of the award until `rfq.award_released`."""

    type: ClassVar[str] = "rfq.awarded"
    version: ClassVar[int] = 2
    awards: list[RfqAward]

    @classmethod
    def view(
        cls, payload: dict[str, Any], company_ids: list[uuid.UUID], viewers: frozenset[str]
    ) -> EventView:
        shown = super().view(payload, company_ids, viewers)
        if str(payload.get("buyer_id")) in viewers or shown.payload.get("awards"):
            return shown
        return HIDDEN

    @classmethod
    def supplier_view(cls, payload: dict[str, Any], viewers: frozenset[str]) -> dict[str, Any]:
        view = super().supplier_view(payload, viewers)
        view.pop("order_ids", None)  # version 1: orders without their suppliers
        view["awards"] = [
            award
            for award in payload.get("awards", [])
            if award.get("supplier_id") in viewers and award.get("released", True)
        ]
        return view


class RfqAwardReleased(RfqEvent):
    """An award held back from its supplier (`RfqAward.released` False) reached it: the
    buyer approved the order the award made. Names that supplier only."""

    type: ClassVar[str] = "rfq.award_released"
    awards: list[RfqAward]


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
