"""Trade: carts, orders with their history and payments, RFQs and quotes, reviews,
idempotency records.

Money is `Numeric(18, 2)` with the currency beside it; unit prices keep the
catalog's four decimals; quantities three. Order lines snapshot SKU, name, unit
and price at order time, so later catalog changes never rewrite an order.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy

MONEY = Numeric(18, 2)
UNIT_PRICE = Numeric(18, 4)
QUANTITY = Numeric(18, 3)

ORDER_STATUSES = (
    "pending_approval",
    "placed",
    "confirmed",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "rejected",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Cart(UUIDPrimaryKey, Timestamps, Base):
    """One cart per (user, buyer company)."""

    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("user_id", "buyer_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    buyer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )


class CartLine(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    cart_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    # The unit price the buyer was shown when the line was last priced: checkout
    # refuses (409 with the new price) when the current price differs.
    quoted_unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(
        owners=("buyer_id", "supplier_id"),
        # Released to the supplier once the buyer approved it (or needed no approval): an
        # order waiting for, or declined at, approval is the buyer's internal matter.
        once={"supplier_id": "released_to_supplier_at"},
    )
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(
            _in("payment_status", ("unpaid", "partially_paid", "paid")), name="payment_status"
        ),
        CheckConstraint(
            _in("payment_terms", ("prepaid", "net_15", "net_30", "net_60")), name="payment_terms"
        ),
        CheckConstraint(_in("source", ("checkout", "direct", "rfq")), name="source"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND amount_paid >= 0", name="amounts"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_orders_buyer_created", "buyer_id", "created_at", "id"),
        Index("ix_orders_supplier_created", "supplier_id", "created_at", "id"),
        Index(
            "ix_orders_unpaid_due",
            "due_date",
            postgresql_where=text(
                "payment_status <> 'paid' AND status NOT IN ('cancelled', 'rejected')"
            ),
        ),
        # The overdue job clears the flag of paid and closed orders among these only.
        Index("ix_orders_overdue", "id", postgresql_where=text("is_overdue")),
        # An invoice number is issued once per supplier; both are set together.
        UniqueConstraint("supplier_id", "invoice_number"),
        CheckConstraint("(invoice_number IS NULL) = (invoiced_at IS NULL)", name="invoice_issued"),
    )

    number: Mapped[str] = mapped_column(String(20), unique=True)
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    placed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    placed_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(10))
    rfq_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rfqs.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    payment_terms: Mapped[str] = mapped_column(String(10))
    payment_status: Mapped[str] = mapped_column(
        String(15), default="unpaid", server_default="unpaid"
    )
    # "0.00", not "0": an order read straight after placing shows money as money.
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"), server_default="0")
    due_date: Mapped[date | None] = mapped_column(Date)
    is_overdue: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    po_number: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # When the supplier received the order: when it was placed, or when the buyer
    # approved it. Null while it waits for approval (and for good if it was declined or
    # cancelled then): the supplier cannot see it (orders repository's tenant gate).
    released_to_supplier_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Latest promised delivery (placed + longest lead time): on-time delivery rate.
    promised_by: Mapped[date | None] = mapped_column(Date)
    # The supplier's invoice, issued when the order ships (see trade/invoices): numbered
    # without gaps per supplier and year, unlike order numbers.
    invoice_number: Mapped[str | None] = mapped_column(String(20))
    invoiced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InvoiceCounter(Base):
    """The last invoice number a supplier issued in a year. Numbering updates this row in
    the shipping transaction, so the row lock orders concurrent invoices and a rolled
    back one gives its number back: no gaps, unlike a sequence."""

    __tablename__ = "invoice_counters"
    __table_args__ = (CheckConstraint("last_number > 0", name="last_number_positive"),)

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="RESTRICT"), primary_key=True
    )
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class OrderLine(UUIDPrimaryKey, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    rfq_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("rfq_items.id", ondelete="SET NULL")
    )
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)
    line_total: Mapped[Decimal] = mapped_column(MONEY)
    # Whether stock was reserved for this line (catalog lines), so release is exact.
    reserved_quantity: Mapped[Decimal] = mapped_column(
        QUANTITY, default=Decimal(0), server_default="0"
    )


class OrderTransition(UUIDPrimaryKey, Base):
    """The order's history: every status change with who, when, why."""

    __tablename__ = "order_transitions"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    actor_company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Payment(UUIDPrimaryKey, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "(reversed_at IS NULL) = (reversal_reason IS NULL)", name="reversal_complete"
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    # A reversed payment (recorded by mistake, refunded) no longer counts as paid; it
    # stays listed, with who reversed it, when and why.
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reversed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reversal_reason: Mapped[str | None] = mapped_column(String(500))


class Rfq(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(owners=("buyer_id",))
    __tablename__ = "rfqs"
    __table_args__ = (
        CheckConstraint(
            _in("status", ("draft", "open", "awarded", "closed", "cancelled", "expired")),
            name="status",
        ),
        CheckConstraint(_in("visibility", ("public", "invited")), name="visibility"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_rfqs_open_deadline", "deadline", postgresql_where=text("status = 'open'")),
        Index("ix_rfqs_buyer_created", "buyer_id", "created_at", "id"),
    )

    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    currency: Mapped[str] = mapped_column(String(3))
    delivery_country: Mapped[str] = mapped_column(String(2))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    visibility: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    payment_terms: Mapped[str] = mapped_column(
        String(10), default="net_30", server_default="net_30"
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RfqItem(UUIDPrimaryKey, Base):
    __tablename__ = "rfq_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("target_unit_price IS NULL OR target_unit_price > 0", name="target"),
        CheckConstraint("product_id IS NOT NULL OR description <> ''", name="described"),
        UniqueConstraint("rfq_id", "position"),
    )

    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(20))
    target_unit_price: Mapped[Decimal | None] = mapped_column(UNIT_PRICE)


class RfqInvitation(Base):
    __tablename__ = "rfq_invitations"

    rfq_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rfqs.id", ondelete="CASCADE"), primary_key=True
    )
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Quote(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(owners=("supplier_id",))
    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint(
            _in("status", ("submitted", "withdrawn", "accepted", "rejected", "expired")),
            name="status",
        ),
        CheckConstraint("lead_time_days >= 0", name="lead_time"),
        # One live quote per supplier per RFQ; revising replaces it in place.
        Index(
            "uq_quotes_live_per_supplier",
            "rfq_id",
            "supplier_id",
            unique=True,
            postgresql_where=text("status = 'submitted'"),
        ),
    )

    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    submitted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(10), default="submitted", server_default="submitted")
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lead_time_days: Mapped[int] = mapped_column(Integer)
    payment_terms: Mapped[str] = mapped_column(
        String(10), default="net_30", server_default="net_30"
    )
    terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class QuoteItem(UUIDPrimaryKey, Base):
    __tablename__ = "quote_items"
    __table_args__ = (
        UniqueConstraint("quote_id", "rfq_item_id"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    quote_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True
    )
    rfq_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfq_items.id", ondelete="CASCADE"))
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)


class QuoteRevision(UUIDPrimaryKey, Base):
    """Every earlier version of a quote, as it was submitted."""

    __tablename__ = "quote_revisions"
    __table_args__ = (UniqueConstraint("quote_id", "revision"),)

    quote_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Review(UUIDPrimaryKey, Base):
    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True
    )
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PurchasingPolicy(Base):
    """A buyer company's rule: orders above the threshold wait for an owner/admin."""

    __tablename__ = "purchasing_policies"
    __table_args__ = (CheckConstraint("approval_threshold >= 0", name="threshold"),)

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    approval_threshold: Mapped[Decimal | None] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
