"""What trade needs from the catalog: orderable products with their prices and stock
for a buyer, and atomic stock reservation and release.

Reservation is a conditional update per product (`stock >= quantity`,
`repository.take_stock`), backed by the `stock >= 0` CHECK, taken here in product-id
order so that concurrent orders over overlapping products lock rows in the same order
and cannot deadlock. The statements are the repository's; the order is this module's.

Every stock change deletes the cached public reads that show it (`caching`): a
product's detail always, search results when the product went in or out of stock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching, repository
from marketplace.catalog.models import covers_moq
from marketplace.catalog.price_lists.models import PriceListTiers, Tier
from marketplace.core.cache import Cache


@dataclass(frozen=True)
class OrderableProduct:
    id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_name: str
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


async def orderable_products(
    session: AsyncSession, buyer_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, OrderableProduct]:
    """The visible products among `product_ids`, priced for this buyer. One statement
    on the driver (see core.driver), the buyer's price lists with the products: this is
    the first read of every order."""
    if not product_ids:
        return {}
    rows = await repository.orderable_rows(session, product_ids, buyer_id)
    return {
        row["id"]: OrderableProduct(
            id=row["id"],
            supplier_id=row["supplier_id"],
            supplier_name=row["supplier_name"],
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
            price_list=None
            if row["price_list_id"] is None
            else PriceListTiers(
                price_list_id=row["price_list_id"],
                tiers=[
                    Tier(min_qty=min_qty, unit_price=price)
                    for min_qty, price in row["price_list_tiers"]
                ],
            ),
        )
        for row in rows
    }


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
        taken = await repository.take_stock(session, product_id, quantities[product_id])
        if taken is None:
            short.append(product_id)
        else:
            crossed |= _crossed_moq(taken["stock"], taken["moq"], -quantities[product_id])
    if short:
        stocks = await repository.stock_of(session, short)
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
        given = await repository.give_back_stock(session, product_id, quantities[product_id])
        if given is not None:
            crossed |= _crossed_moq(given["stock"], given["moq"], quantities[product_id])
    if crossed:
        await caching.invalidate_search(session, cache)
