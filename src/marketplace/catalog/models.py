"""Catalog: products and variants, their price tiers, images.

Quantities are `Numeric(18, 3)` (pieces, kg, metres alike); unit prices
`Numeric(18, 4)` so that cheap bulk items (0.0125 per screw) are exact. Never floats.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy

QUANTITY = Numeric(18, 3)
UNIT_PRICE = Numeric(18, 4)

# Weighted full-text document: SKU and name first, attributes next, description last.
# 'simple' keeps SKUs, part numbers and non-English words intact.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple', coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(name, '')), 'A') || "
    "setweight(jsonb_to_tsvector('simple', coalesce(attributes, '{}'::jsonb), "
    "'[\"string\"]'), 'B') || "
    "setweight(to_tsvector('simple', coalesce(description, '')), 'C')"
)


class Product(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(owners=("supplier_id",))
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("supplier_id", "sku"),
        CheckConstraint("status IN ('draft', 'active', 'archived')", name="status"),
        CheckConstraint("moq > 0", name="moq_positive"),
        CheckConstraint("order_multiple IS NULL OR order_multiple > 0", name="order_multiple"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        Index("ix_products_search_vector", "search_vector", postgresql_using="gin"),
        Index(
            "ix_products_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index(
            "ix_products_sku_trgm",
            "sku",
            postgresql_using="gin",
            postgresql_ops={"sku": "gin_trgm_ops"},
        ),
        Index("ix_products_attributes", "attributes", postgresql_using="gin"),
        Index("ix_products_category_created", "category_id", "created_at", "id"),
        Index("ix_products_supplier_status", "supplier_id", "status"),
        Index("ix_products_supplier_created", "supplier_id", "created_at", "id"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    # Variants share a family head (same supplier) and differ by attributes.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    unit: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    moq: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1), server_default="1")
    order_multiple: Mapped[Decimal | None] = mapped_column(QUANTITY)
    stock: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    # Unit price of the first tier: what "price" sorting and filtering use by default.
    base_price: Mapped[Decimal | None] = mapped_column(UNIT_PRICE, index=True)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True), deferred=True
    )
    # The product's ETag. A database trigger adds one on every update, whoever issues
    # it (stock taken by an order included), so the ORM only ever reads it: after an
    # ORM update the attribute is expired rather than silently stale.
    version: Mapped[int] = mapped_column(
        Integer, server_default="1", server_onupdate=FetchedValue()
    )

    @hybrid_property
    def in_stock(self) -> bool:
        """Whether the stock covers one minimum order: what a buyer can order now. The
        one definition for the detail, search results and the `in_stock` filter."""
        return covers_moq(self.stock, self.moq)

    @in_stock.inplace.expression
    @classmethod
    def _in_stock_expression(cls) -> ColumnElement[bool]:
        return cls.stock >= cls.moq


def covers_moq(stock: Decimal, moq: Decimal) -> bool:
    """`Product.in_stock` for values read without the ORM."""
    return stock >= moq


class PriceTier(UUIDPrimaryKey, Base):
    __tablename__ = "price_tiers"
    __table_args__ = (
        UniqueConstraint("product_id", "min_qty"),
        CheckConstraint("min_qty > 0", name="min_qty_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    min_qty: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)


class ProductImage(UUIDPrimaryKey, Base):
    __tablename__ = "product_images"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Storage key prefix; each standard size is stored under "<key>/<size>.<ext>".
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
