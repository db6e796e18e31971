"""Request and response bodies of carts, checkout and orders."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from marketplace.core.text import MultilineText, Text
from marketplace.trade.orders.state_machine import OrderAction

Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
Text200 = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=200)]
Text100 = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=100)]
Notes = Annotated[MultilineText, StringConstraints(max_length=2000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentTerms(StrEnum):
    PREPAID = "prepaid"
    NET_15 = "net_15"
    NET_30 = "net_30"
    NET_60 = "net_60"


class ShippingAddress(Input):
    recipient: Text200 | None = None
    line1: Text200 = Field(min_length=1)
    line2: Text200 | None = None
    city: Text100 = Field(min_length=1)
    postal_code: Annotated[
        Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)
    ]
    region: Text100 | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderLineInput(Input):
    product_id: uuid.UUID
    quantity: Quantity


class CheckoutTerms(Input):
    """What the buyer states for the orders: terms, where to ship, their references."""

    payment_terms: PaymentTerms = PaymentTerms.NET_30
    shipping_address_id: uuid.UUID | None = None
    shipping_address: ShippingAddress | None = None
    po_number: Annotated[Text, StringConstraints(strip_whitespace=True, max_length=64)] | None = (
        None
    )
    notes: Notes = ""

    @model_validator(mode="after")
    def _one_address(self) -> CheckoutTerms:
        if (self.shipping_address_id is None) == (self.shipping_address is None):
            raise ValueError("give exactly one of shipping_address_id or shipping_address")
        return self


class OrderCreate(CheckoutTerms):
    lines: list[OrderLineInput] = Field(min_length=1, max_length=200)


class CheckoutRequest(CheckoutTerms):
    pass


class CartLineInput(Input):
    quantity: Quantity


class CartLineRead(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    supplier_id: uuid.UUID
    supplier_name: str
    unit: str
    currency: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal
    price_source: str
    available: bool = Field(
        description="The line can be ordered as it is: the product is orderable, the "
        "quantity fits its MOQ and pack size, and the stock covers it."
    )
    available_quantity: Decimal = Field(
        description="The product's stock now (0 when it cannot be ordered at all)."
    )


class SupplierSubtotal(BaseModel):
    supplier_id: uuid.UUID
    supplier_name: str
    currency: str
    subtotal: Decimal
    lines: int


class CartRead(BaseModel):
    buyer_id: uuid.UUID
    lines: list[CartLineRead]
    subtotals: list[SupplierSubtotal]


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    product_id: uuid.UUID | None
    rfq_item_id: uuid.UUID | None
    sku: str | None
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


class TransitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_company_id: uuid.UUID | None
    reason: str | None
    details: dict[str, Any]
    request_id: str | None
    created_at: datetime


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    buyer_id: uuid.UUID
    buyer_name: str
    supplier_id: uuid.UUID
    supplier_name: str
    source: str
    rfq_id: uuid.UUID | None
    status: str
    currency: str
    subtotal: Decimal
    total: Decimal
    payment_terms: str
    payment_status: str
    amount_paid: Decimal
    due_date: date | None
    is_overdue: bool
    po_number: str | None
    notes: str
    shipping_address: dict[str, Any]
    carrier: str | None
    tracking_number: str | None
    placed_by_user_id: uuid.UUID | None
    placed_by_api_key_id: uuid.UUID | None
    created_at: datetime
    placed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    invoice_number: str | None = Field(
        description="The supplier's invoice number, issued when the order ships: gapless "
        "per supplier and year (`INV-<year>-<6 digits>`); null before."
    )
    invoiced_at: datetime | None = Field(description="When the invoice was issued.")
    reviewed: bool = Field(
        default=False,
        description="Whether the buyer has reviewed the supplier for this order "
        "(one review per order, `POST /orders/{order_id}/review`).",
    )


class OrderDetail(OrderRead):
    lines: list[OrderLineRead]
    history: list[TransitionRead]


class OrdersPlaced(BaseModel):
    orders: list[OrderDetail]


class TransitionRequest(Input):
    action: OrderAction
    reason: (
        Annotated[MultilineText, StringConstraints(strip_whitespace=True, max_length=1000)] | None
    ) = None
    carrier: Text100 | None = None
    tracking_number: Text100 | None = None

    @model_validator(mode="after")
    def _shipping_details(self) -> TransitionRequest:
        if self.action is OrderAction.SHIP and not (self.carrier and self.tracking_number):
            raise ValueError("shipping needs a carrier and a tracking number")
        if self.action in (OrderAction.REJECT, OrderAction.DECLINE) and not self.reason:
            raise ValueError(f"{self.action.value} needs a reason")
        return self


class PurchasingPolicyInput(Input):
    approval_threshold: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)] | None


class PurchasingPolicyRead(BaseModel):
    company_id: uuid.UUID
    approval_threshold: Decimal | None
