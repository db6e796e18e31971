"""Request and response bodies of order payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marketplace.core.text import Text
from marketplace.trade.orders.schemas import Input, OrderRead

# Money: positive, at most 16 digits before the point and 2 after (the column's 18, 2).
Amount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
    CHEQUE = "cheque"
    CASH = "cash"
    OTHER = "other"


class PaymentCreate(Input):
    """A payment the supplier received, in the order's currency."""

    amount: Amount
    paid_on: date
    method: PaymentMethod
    reference: (
        Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None


class PaymentReversal(Input):
    """Why the payment no longer counts: recorded by mistake, bounced, refunded, ..."""

    reason: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    amount: Decimal
    currency: str
    paid_on: date
    method: str
    reference: str | None
    recorded_by_user_id: uuid.UUID | None
    created_at: datetime
    # Set once the payment is reversed: it no longer counts towards the amount paid.
    reversed_at: datetime | None
    reversed_by_user_id: uuid.UUID | None
    reversal_reason: str | None


class PaymentRecorded(BaseModel):
    """The payment and the order's payment state after recording or reversing it."""

    payment: PaymentRead
    order: OrderRead
