"""Queries of the catalog domain shared by products, search and imports.

Visibility and buyer price lists each have exactly one definition here; every
public read goes through `visible_products()`, every buyer price through
`price_lists_for_buyer()`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import (
    BuyerGroupMember,
    PriceList,
    PriceListAssignment,
    PriceListTier,
    PriceTier,
    Product,
)
from marketplace.catalog.pricing import PriceListTiers, Tier
from marketplace.companies.models import Company


def visible_products() -> Select[Product]:
    """Products anyone may see: active, not blocked by staff, of a verified supplier."""
    return (
        select(Product)
        .join(Company, Company.id == Product.supplier_id)
        .where(
            Product.status == "active",
            Product.is_blocked.is_(False),
            Company.verification_status == "verified",
        )
    )


async def tiers_for(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Tier]]:
    tiers: dict[uuid.UUID, list[Tier]] = defaultdict(list)
    if not product_ids:
        return tiers
    rows = await session.execute(
        select(PriceTier.product_id, PriceTier.min_qty, PriceTier.unit_price)
        .where(PriceTier.product_id.in_(product_ids))
        .order_by(PriceTier.product_id, PriceTier.min_qty)
    )
    for product_id, min_qty, unit_price in rows:
        tiers[product_id].append(Tier(min_qty=min_qty, unit_price=unit_price))
    return tiers


async def price_lists_for_buyer(
    session: AsyncSession, buyer_id: uuid.UUID | None, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PriceListTiers]:
    """For each product, the tiers of the highest-priority active price list that is
    assigned to this buyer (directly or through one of its groups) and prices it.
    Anonymous callers and buyers without lists get {}."""
    if buyer_id is None or not product_ids:
        return {}
    groups = select(BuyerGroupMember.group_id).where(BuyerGroupMember.buyer_id == buyer_id)
    rows = await session.execute(
        select(
            PriceListTier.product_id,
            PriceList.id,
            PriceList.priority,
            PriceListTier.min_qty,
            PriceListTier.unit_price,
        )
        .join(PriceList, PriceList.id == PriceListTier.price_list_id)
        .join(PriceListAssignment, PriceListAssignment.price_list_id == PriceList.id)
        .join(Product, Product.id == PriceListTier.product_id)
        .where(
            PriceListTier.product_id.in_(product_ids),
            PriceList.is_active.is_(True),
            # A list only ever prices its own supplier's products.
            PriceList.supplier_id == Product.supplier_id,
            or_(
                PriceListAssignment.buyer_id == buyer_id,
                and_(
                    PriceListAssignment.group_id.is_not(None),
                    PriceListAssignment.group_id.in_(groups),
                ),
            ),
        )
        .order_by(
            PriceListTier.product_id,
            PriceList.priority.desc(),
            PriceList.id,
            PriceListTier.min_qty,
        )
        .distinct()
    )
    chosen: dict[uuid.UUID, uuid.UUID] = {}
    tiers: dict[uuid.UUID, list[Tier]] = defaultdict(list)
    for product_id, price_list_id, _priority, min_qty, unit_price in rows:
        if chosen.setdefault(product_id, price_list_id) != price_list_id:
            continue  # a lower-priority list for a product already priced
        tiers[product_id].append(Tier(min_qty=min_qty, unit_price=unit_price))
    return {
        product_id: PriceListTiers(price_list_id=chosen[product_id], tiers=product_tiers)
        for product_id, product_tiers in tiers.items()
    }
