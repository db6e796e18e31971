"""What trade needs from the catalog: orderable products with their prices and stock
for a buyer, and atomic stock reservation and release.

Reservation is a conditional update per product (`stock >= quantity`), backed by
the `stock >= 0` CHECK, taken in product-id order so that concurrent orders over
overlapping products lock rows in the same order and cannot deadlock.

Every stock change deletes the cached public reads that show it (`caching`): a
product's detail always, search results when the product went in or out of stock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Uuid, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.catalog.models import PriceTier, Product, covers_moq
from marketplace.catalog.pricing import PriceListTiers, Tier
from marketplace.catalog.repository import (
    buyer_price_list_rows,
    choose_price_lists,
    visible_products,
)
from marketplace.core.cache import Cache
from marketplace.core.driver import DriverStatement
from marketplace.core.tenancy import unscoped


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
    stock: Decimal
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
        Product.stock,
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
            stock=row["stock"],
            tiers=[
                Tier(min_qty=min_qty, unit_price=price) for min_qty, price in row["tiers"] or ()
            ],
            price_list=lists.get(row["id"]),
        )
        for row in rows
    }


# Through the driver: the last statements of every order, on the hottest rows. Stock
# moves with orders: a buyer's order takes the stock of products it found orderable
# (`visible_products()`), which belong to its suppliers; trade is the only caller.
ORDERS = "stock moves with orders, on products found orderable through the gate"
_QUANTITY = bindparam("quantity", type_=Product.__table__.c.stock.type)
_PRODUCT_ID = bindparam("product_id", type_=Uuid)
_TAKE_STOCK = DriverStatement(
    unscoped(update(Product), reason=ORDERS)
    .where(Product.id == _PRODUCT_ID, Product.stock >= _QUANTITY)
    .values(stock=Product.stock - _QUANTITY, updated_at=func.now())
    .returning(Product.stock, Product.moq)
)
_GIVE_BACK_STOCK = DriverStatement(
    unscoped(update(Product), reason=ORDERS)
    .where(Product.id == _PRODUCT_ID)
    .values(stock=Product.stock + _QUANTITY, updated_at=func.now())
    .returning(Product.stock, Product.moq)
)
_STOCK_OF = DriverStatement(
    unscoped(select(Product.id, Product.stock), reason=ORDERS).where(
        Product.id == any_(_PRODUCT_IDS)
    )
)


def _crossed_moq(stock: Decimal, moq: Decimal, change: Decimal) -> bool:
    """Whether a change that left `stock` moved the product in or out of stock."""
    return covers_moq(stock, moq) != covers_moq(stock - change, moq)


async def reserve(
    session: AsyncSession, cache: Cache, quantities: Mapping[uuid.UUID, Decimal]
) -> dict[uuid.UUID, Decimal]:
    """Take stock for every product, in id order. Returns the products that had too
    little, each with the stock it has; the caller must then roll back (the others'
    reservations are in the same transaction)."""
    # Before the rows are locked: deleted again after the commit all the same.
    await caching.invalidate_stock(session, cache, quantities)
    short: list[uuid.UUID] = []
    crossed = False
    for product_id in sorted(quantities):
        taken = await _TAKE_STOCK.fetchrow(
            session, product_id=product_id, quantity=quantities[product_id]
        )
        if taken is None:
            short.append(product_id)
        else:
            crossed |= _crossed_moq(taken["stock"], taken["moq"], -quantities[product_id])
    if short:
        stocks = {
            row["id"]: row["stock"] for row in await _STOCK_OF.fetch(session, product_ids=short)
        }
        return {product_id: stocks.get(product_id, Decimal(0)) for product_id in short}
    if crossed:
        await caching.invalidate_search(session, cache)
    return {}


async def release(
    session: AsyncSession, cache: Cache, quantities: Mapping[uuid.UUID, Decimal]
) -> None:
    """Give reserved stock back (a cancelled or rejected order), in id order."""
    await caching.invalidate_stock(session, cache, quantities)
    crossed = False
    for product_id in sorted(quantities):
        given = await _GIVE_BACK_STOCK.fetchrow(
            session, product_id=product_id, quantity=quantities[product_id]
        )
        if given is not None:
            crossed |= _crossed_moq(given["stock"], given["moq"], quantities[product_id])
    if crossed:
        await caching.invalidate_search(session, cache)
