"""Request and response bodies of RFQs, quotes, the comparison and the award."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from marketplace.core.text import MultilineText, Text
from marketplace.trade.orders.schemas import CheckoutTerms, PaymentTerms

Title = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[MultilineText, StringConstraints(max_length=5000)]
Price = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _aware_future(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} needs a time zone")
    if value <= datetime.now(UTC):
        raise ValueError(f"{name} must be in the future")


class RfqItemInput(Input):
    product_id: uuid.UUID | None = None
    description: Annotated[
        MultilineText, StringConstraints(strip_whitespace=True, max_length=2000)
    ] = ""
    quantity: Quantity
    unit: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,20}$")] = "piece"
    target_unit_price: Price | None = None

    @model_validator(mode="after")
    def _described(self) -> RfqItemInput:
        if self.product_id is None and not self.description:
            raise ValueError("an item needs a catalog product or a description")
        return self


class RfqCreate(Input):
    title: Title
    description: LongText = ""
    items: list[RfqItemInput] = Field(min_length=1, max_length=100)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    delivery_country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    deadline: datetime
    visibility: Literal["public", "invited"] = "public"
    invited_supplier_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    category: Annotated[Text, StringConstraints(max_length=100)] | None = None
    payment_terms: PaymentTerms = PaymentTerms.NET_30

    @model_validator(mode="after")
    def _consistent(self) -> RfqCreate:
        _aware_future(self.deadline, "deadline")
        if self.visibility == "invited" and not self.invited_supplier_ids:
            raise ValueError("an invited-only RFQ needs invited_supplier_ids")
        return self


class RfqItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    product_id: uuid.UUID | None
    description: str
    quantity: Decimal
    unit: str
    target_unit_price: Decimal | None
    # Once awarded: the winning quote and its supplier. A supplier is shown only its own
    # wins, and only once the order the award made has reached it (not while that order
    # waits for the buyer's approval); other items read as not awarded to it.
    awarded_quote_id: uuid.UUID | None = None
    awarded_supplier_id: uuid.UUID | None = None
    awarded_supplier_name: str | None = None


class RfqRead(BaseModel):
    id: uuid.UUID
    buyer_id: uuid.UUID
    buyer_name: str
    title: str
    description: str
    currency: str
    delivery_country: str
    deadline: datetime
    visibility: str
    status: str
    payment_terms: str
    published_at: datetime | None
    created_at: datetime
    items: list[RfqItemRead]
    invited_supplier_ids: list[uuid.UUID] | None = None  # the buyer's view only


class QuoteItemInput(Input):
    rfq_item_id: uuid.UUID
    unit_price: Price


class QuoteSubmit(Input):
    items: list[QuoteItemInput] = Field(min_length=1, max_length=100)
    valid_until: datetime
    lead_time_days: Annotated[int, Field(ge=0, le=3650)]
    payment_terms: PaymentTerms = PaymentTerms.NET_30
    terms: LongText = ""
    notes: LongText = ""

    @model_validator(mode="after")
    def _valid(self) -> QuoteSubmit:
        _aware_future(self.valid_until, "valid_until")
        ids = [item.rfq_item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("each RFQ item may be priced once")
        return self


class QuoteItemRead(BaseModel):
    rfq_item_id: uuid.UUID
    unit_price: Decimal
    line_total: Decimal


class QuoteRead(BaseModel):
    id: uuid.UUID
    rfq_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_name: str
    status: str
    revision: int
    currency: str
    valid_until: datetime
    lead_time_days: int
    payment_terms: str
    terms: str
    notes: str
    submitted_at: datetime
    items: list[QuoteItemRead]
    total: Decimal


class ComparisonOffer(BaseModel):
    quote_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_name: str
    unit_price: Decimal
    line_total: Decimal
    lead_time_days: int
    is_best: bool


class ComparisonItem(BaseModel):
    rfq_item_id: uuid.UUID
    description: str
    quantity: Decimal
    target_unit_price: Decimal | None
    offers: list[ComparisonOffer]


class ComparisonSupplier(BaseModel):
    quote_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_name: str
    total: Decimal
    items_quoted: int
    lead_time_days: int
    valid_until: datetime


class Comparison(BaseModel):
    rfq_id: uuid.UUID
    currency: str
    items: list[ComparisonItem]
    quotes: list[ComparisonSupplier]


class AwardLine(Input):
    rfq_item_id: uuid.UUID
    quote_id: uuid.UUID


class AwardRequest(CheckoutTerms):
    lines: list[AwardLine] = Field(min_length=1, max_length=100)


class AwardResult(BaseModel):
    rfq: RfqRead
    order_ids: list[uuid.UUID]
