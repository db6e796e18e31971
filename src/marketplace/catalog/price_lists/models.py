"""Buyer groups and price lists: a supplier's own prices for some of its products, for
the buyers and groups it assigns them to; and the tiers every price is computed from
(`Tier`, a product's own or a list's), as `service.quote` takes them.

Quantities and unit prices as the catalog stores them (`catalog.models.QUANTITY`,
`UNIT_PRICE`): Decimals, never floats.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.catalog.models import QUANTITY, UNIT_PRICE
from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy


class BuyerGroup(UUIDPrimaryKey, Timestamps, Base):
    """A supplier's named group of buyer companies (e.g. "Distributors")."""

    __tenancy__ = Tenancy(owners=("supplier_id",))
    __tablename__ = "buyer_groups"
    __table_args__ = (UniqueConstraint("supplier_id", "name"),)

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))


class BuyerGroupMember(Base):
    __tablename__ = "buyer_group_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("buyer_groups.id", ondelete="CASCADE"), primary_key=True
    )
    buyer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PriceList(UUIDPrimaryKey, Timestamps, Base):
    """A supplier's own prices for some products, for assigned buyers or groups."""

    __tenancy__ = Tenancy(owners=("supplier_id",))
    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("supplier_id", "name"),
        CheckConstraint("priority >= 0", name="priority"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # When several lists apply to one buyer and product, the highest priority wins.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class PriceListAssignment(UUIDPrimaryKey, Base):
    __tablename__ = "price_list_assignments"
    __table_args__ = (
        CheckConstraint("(buyer_id IS NULL) <> (group_id IS NULL)", name="exactly_one_target"),
        UniqueConstraint("price_list_id", "buyer_id"),
        UniqueConstraint("price_list_id", "group_id"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_lists.id", ondelete="CASCADE"), index=True
    )
    buyer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("buyer_groups.id", ondelete="CASCADE"), index=True
    )


class PriceListTier(UUIDPrimaryKey, Base):
    __tablename__ = "price_list_tiers"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "min_qty"),
        CheckConstraint("min_qty > 0", name="min_qty_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_lists.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    min_qty: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)


@dataclass(frozen=True)
class Tier:
    min_qty: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class PriceListTiers:
    price_list_id: uuid.UUID
    tiers: Sequence[Tier]
