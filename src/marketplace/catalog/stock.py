"""What trade needs from the catalog: orderable products with their prices for a
buyer, and atomic stock reservation and release.

Reservation is a conditional update per product (`stock >= quantity`), backed by
the `stock >= 0` CHECK, taken in product-id order so that concurrent orders over
overlapping products lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.catalog.pricing import PriceListTiers, Tier
from marketplace.catalog.repository import price_lists_for_buyer, tiers_for, visible_products


@dataclass(frozen=True)
class OrderableProduct:
    id: uuid.UUID
    supplier_id: uuid.UUID
    sku: str
    name: str
    unit: str
    currency: str
    moq: Decimal
    order_multiple: Decimal | None
    lead_time_days: int
    tiers: Sequence[Tier]
    price_list: PriceListTiers | None


async def orderable_products(
    session: AsyncSession, buyer_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OrderableProduct]:
    """The visible products among `product_ids`, priced for this buyer."""
    if not product_ids:
        return {}
    products = list(
        (await session.execute(visible_products().where(Product.id.in_(product_ids)))).scalars()
    )
    ids = [product.id for product in products]
    tiers = await tiers_for(session, ids)
    lists = await price_lists_for_buyer(session, buyer_id, ids)
    return {
        product.id: OrderableProduct(
            id=product.id,
            supplier_id=product.supplier_id,
            sku=product.sku,
            name=product.name,
            unit=product.unit,
            currency=product.currency,
            moq=product.moq,
            order_multiple=product.order_multiple,
            lead_time_days=product.lead_time_days,
            tiers=tiers.get(product.id, []),
            price_list=lists.get(product.id),
        )
        for product in products
    }


async def reserve(
    session: AsyncSession, quantities: Mapping[uuid.UUID, Decimal]
) -> list[uuid.UUID]:
    """Take stock for every product, in id order. Returns the products that had too
    little; the caller must then roll back (the others' reservations are in the same
    transaction)."""
    short: list[uuid.UUID] = []
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        taken = await session.scalar(
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity)
            .values(stock=Product.stock - quantity)
            .returning(Product.id)
            .execution_options(synchronize_session=False)
        )
        if taken is None:
            short.append(product_id)
    return short


async def release(session: AsyncSession, quantities: Mapping[uuid.UUID, Decimal]) -> None:
    for product_id in sorted(quantities):
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantities[product_id])
            .execution_options(synchronize_session=False)
        )
