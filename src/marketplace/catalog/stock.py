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

from sqlalchemy import Uuid, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import PriceTier, Product
from marketplace.catalog.pricing import PriceListTiers, Tier
from marketplace.catalog.repository import (
    buyer_price_list_rows,
    choose_price_lists,
    visible_products,
)
from marketplace.core.driver import DriverStatement


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


_PRODUCT_IDS = bindparam("product_ids", type_=postgresql.ARRAY(Uuid))
# The visible products among `product_ids`, each with its tiers (ascending).
_ORDERABLE = DriverStatement(
    visible_products()
    .with_only_columns(
        Product.id,
        Product.supplier_id,
        Product.sku,
        Product.name,
        Product.unit,
        Product.currency,
        Product.moq,
        Product.order_multiple,
        Product.lead_time_days,
        select(
            func.array_agg(
                postgresql.aggregate_order_by(
                    postgresql.array([PriceTier.min_qty, PriceTier.unit_price]), PriceTier.min_qty
                )
            )
        )
        .where(PriceTier.product_id == Product.id)
        .scalar_subquery()
        .label("tiers"),
    )
    .where(Product.id == any_(_PRODUCT_IDS))
)
_BUYER_PRICE_LISTS = DriverStatement(
    buyer_price_list_rows(bindparam("buyer_id", type_=Uuid), _PRODUCT_IDS)
)


async def orderable_products(
    session: AsyncSession, buyer_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OrderableProduct]:
    """The visible products among `product_ids`, priced for this buyer. Two statements
    on the driver (see core.driver): this is the first read of every order."""
    if not product_ids:
        return {}
    rows = await _ORDERABLE.fetch(session, product_ids=list(product_ids))
    ids = [row["id"] for row in rows]
    lists = choose_price_lists(
        await _BUYER_PRICE_LISTS.fetch(session, buyer_id=buyer_id, product_ids=ids) if ids else []
    )
    return {
        row["id"]: OrderableProduct(
            id=row["id"],
            supplier_id=row["supplier_id"],
            sku=row["sku"],
            name=row["name"],
            unit=row["unit"],
            currency=row["currency"],
            moq=row["moq"],
            order_multiple=row["order_multiple"],
            lead_time_days=row["lead_time_days"],
            tiers=[
                Tier(min_qty=min_qty, unit_price=price) for min_qty, price in row["tiers"] or ()
            ],
            price_list=lists.get(row["id"]),
        )
        for row in rows
    }


# Through the driver: the last statement of every order, on the hottest rows.
_QUANTITY = bindparam("quantity", type_=Product.__table__.c.stock.type)
_TAKE_STOCK = DriverStatement(
    update(Product)
    .where(Product.id == bindparam("product_id", type_=Uuid), Product.stock >= _QUANTITY)
    .values(stock=Product.stock - _QUANTITY, updated_at=func.now())
    .returning(Product.id)
)


async def reserve(
    session: AsyncSession, quantities: Mapping[uuid.UUID, Decimal]
) -> list[uuid.UUID]:
    """Take stock for every product, in id order. Returns the products that had too
    little; the caller must then roll back (the others' reservations are in the same
    transaction)."""
    short: list[uuid.UUID] = []
    for product_id in sorted(quantities):
        taken = await _TAKE_STOCK.fetchval(
            session, product_id=product_id, quantity=quantities[product_id]
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
