"""Queries of buyer groups and price lists, and the one definition of a buyer's price
lists (`buyer_price_list_rows`): every buyer price, on a page, in search or in an
order, is chosen from its rows by `choose_price_lists`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.catalog.price_lists.models import (
    BuyerGroup,
    BuyerGroupMember,
    PriceList,
    PriceListAssignment,
    PriceListTier,
    PriceListTiers,
    Tier,
)
from marketplace.companies.models import Company
from marketplace.core.driver import DriverStatement
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.core.repository import keyset
from marketplace.core.repository import remove as remove
from marketplace.core.repository import unique_or as unique_or
from marketplace.core.tenancy import readable, unscoped


def buyer_price_list_rows(
    buyer_id: ColumnElement[uuid.UUID], product_ids: ColumnElement[Any]
) -> Select[uuid.UUID, uuid.UUID, int, Decimal, Decimal]:
    """(product, price list, priority, min_qty, unit_price) of every active price list
    assigned to the buyer (directly or through one of its groups) that prices one of
    `product_ids` (an array), best list first: `choose_price_lists` reduces them."""
    groups = select(BuyerGroupMember.group_id).where(BuyerGroupMember.buyer_id == buyer_id)
    # A buyer's own prices: the lists assigned to it price its orders and pages; the
    # lists themselves (names, other buyers) stay the supplier's.
    reason = "a buyer's prices from the lists assigned to it, never the lists themselves"
    return (
        unscoped(
            select(
                PriceListTier.product_id,
                PriceList.id,
                PriceList.priority,
                PriceListTier.min_qty,
                PriceListTier.unit_price,
            ),
            reason=reason,
        )
        .join(PriceList, PriceList.id == PriceListTier.price_list_id)
        .join(PriceListAssignment, PriceListAssignment.price_list_id == PriceList.id)
        .join(Product, Product.id == PriceListTier.product_id)
        .where(
            PriceListTier.product_id == any_(product_ids),
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


def choose_price_lists(
    rows: Iterable[Sequence[Any]],
) -> dict[uuid.UUID, PriceListTiers]:
    """For each product, the tiers of its highest-priority list (rows in that order)."""
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


async def price_lists_for_buyer(
    session: AsyncSession, buyer_id: uuid.UUID | None, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PriceListTiers]:
    """For each product, the tiers of the highest-priority active price list that is
    assigned to this buyer (directly or through one of its groups) and prices it.
    Anonymous callers and buyers without lists get {}."""
    if buyer_id is None or not product_ids:
        return {}
    return await price_lists_for_order(session, buyer_id, product_ids)


# Through the driver (see core.driver): the second read of every order, and of every
# signed-in buyer's search page and uncached price list (built per request through the
# ORM, it cost more CPU than the rest of a cached signed-in search).
_BUYER_PRICE_LISTS = DriverStatement(
    buyer_price_list_rows(
        bindparam("buyer_id", type_=Uuid),
        bindparam("product_ids", type_=postgresql.ARRAY(Uuid)),
    )
)


async def price_lists_for_order(
    session: AsyncSession, buyer_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PriceListTiers]:
    """`price_lists_for_buyer` of a buyer known to be one, for the products of an order."""
    if not product_ids:
        return {}
    rows = await _BUYER_PRICE_LISTS.fetch(session, buyer_id=buyer_id, product_ids=list(product_ids))
    return choose_price_lists(rows)


# --- writes of the supplier's groups, lists and assignments ---------------------------


# `add`, `flush` and `remove` are the kit's (imported above); removing a group or a
# list, the database deletes its members, tiers and assignments with it.


# --- buyer groups -----------------------------------------------------------------


async def buyer_groups(
    session: AsyncSession, supplier_id: uuid.UUID, *, after_name: str | None, limit: int
) -> list[tuple[BuyerGroup, list[uuid.UUID]]]:
    """Up to `limit` groups by name (unique per supplier), after `after_name`."""
    statement = keyset(
        readable(select(BuyerGroup), BuyerGroup, supplier_id),
        (BuyerGroup.name,),
        (after_name,) if after_name is not None else None,
        limit,
        descending=False,
    )
    groups = list((await session.execute(statement)).scalars())
    members = await _group_members(session, [group.id for group in groups])
    return [(group, members.get(group.id, [])) for group in groups]


async def _group_members(
    session: AsyncSession, group_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if group_ids:
        rows = await session.execute(
            select(BuyerGroupMember.group_id, BuyerGroupMember.buyer_id)
            .where(BuyerGroupMember.group_id.in_(group_ids))
            .order_by(BuyerGroupMember.buyer_id)
        )
        for group_id, buyer_id in rows:
            members[group_id].append(buyer_id)
    return members


async def buyer_group(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID
) -> tuple[BuyerGroup, list[uuid.UUID]] | None:
    group = (
        await session.execute(
            readable(select(BuyerGroup), BuyerGroup, supplier_id).where(BuyerGroup.id == group_id)
        )
    ).scalar_one_or_none()
    if group is None:
        return None
    return group, (await _group_members(session, [group.id])).get(group.id, [])


async def add_group_member(session: AsyncSession, group_id: uuid.UUID, buyer_id: uuid.UUID) -> bool:
    """True when the buyer was not a member yet."""
    result = await session.execute(
        pg_insert(BuyerGroupMember)
        .values(group_id=group_id, buyer_id=buyer_id)
        .on_conflict_do_nothing()
        .returning(BuyerGroupMember.buyer_id)
    )
    return result.scalar_one_or_none() is not None


async def remove_group_member(
    session: AsyncSession, group_id: uuid.UUID, buyer_id: uuid.UUID
) -> bool:
    result = await session.execute(
        delete(BuyerGroupMember)
        .where(BuyerGroupMember.group_id == group_id, BuyerGroupMember.buyer_id == buyer_id)
        .returning(BuyerGroupMember.buyer_id)
    )
    return result.scalar_one_or_none() is not None


async def is_buyer_company(session: AsyncSession, company_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Company.id).where(Company.id == company_id, Company.kind.in_(("buyer", "both")))
    )
    return found is not None


# --- price lists ------------------------------------------------------------------


async def price_lists(
    session: AsyncSession, supplier_id: uuid.UUID, *, after: tuple[int, str] | None, limit: int
) -> list[PriceList]:
    """Up to `limit` lists, highest priority first, then by name (unique per
    supplier), after the list whose (priority, name) is `after`."""
    statement = keyset(
        readable(select(PriceList), PriceList, supplier_id),
        (PriceList.priority, PriceList.name),
        after,
        limit,
        descending=(True, False),
    )
    rows = await session.execute(statement)
    return list(rows.scalars())


async def price_list(
    session: AsyncSession, supplier_id: uuid.UUID, price_list_id: uuid.UUID
) -> PriceList | None:
    return (
        await session.execute(
            readable(select(PriceList), PriceList, supplier_id).where(PriceList.id == price_list_id)
        )
    ).scalar_one_or_none()


async def price_list_products(
    session: AsyncSession, supplier_id: uuid.UUID, price_list_id: uuid.UUID
) -> list[tuple[Product, list[Tier]]]:
    columns = select(Product, PriceListTier.min_qty, PriceListTier.unit_price)
    rows = await session.execute(
        readable(columns, Product, supplier_id)
        .join(PriceListTier, PriceListTier.product_id == Product.id)
        .where(PriceListTier.price_list_id == price_list_id)
        .order_by(Product.sku, PriceListTier.min_qty)
    )
    products: dict[uuid.UUID, tuple[Product, list[Tier]]] = {}
    for product, min_qty, unit_price in rows:
        products.setdefault(product.id, (product, []))[1].append(Tier(min_qty, unit_price))
    return list(products.values())


async def replace_price_list_tiers(
    session: AsyncSession, price_list_id: uuid.UUID, product_id: uuid.UUID, tiers: Sequence[Tier]
) -> list[Tier]:
    """Replace the list's tiers for the product; returns the tiers it replaced."""
    replaced = await session.execute(
        delete(PriceListTier)
        .where(PriceListTier.price_list_id == price_list_id, PriceListTier.product_id == product_id)
        .returning(PriceListTier.min_qty, PriceListTier.unit_price)
    )
    previous = sorted(
        (Tier(min_qty=min_qty, unit_price=unit_price) for min_qty, unit_price in replaced),
        key=lambda tier: tier.min_qty,
    )
    if tiers:
        await session.execute(
            insert(PriceListTier),
            [
                {
                    "price_list_id": price_list_id,
                    "product_id": product_id,
                    "min_qty": tier.min_qty,
                    "unit_price": tier.unit_price,
                }
                for tier in tiers
            ],
        )
    return previous


async def assignments_of(
    session: AsyncSession, price_list_id: uuid.UUID
) -> list[PriceListAssignment]:
    rows = await session.execute(
        select(PriceListAssignment)
        .where(PriceListAssignment.price_list_id == price_list_id)
        .order_by(PriceListAssignment.id)
    )
    return list(rows.scalars())


async def delete_assignment(
    session: AsyncSession, price_list_id: uuid.UUID, assignment_id: uuid.UUID
) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
    """The deleted assignment's (buyer_id, group_id); None when there was none."""
    result = await session.execute(
        delete(PriceListAssignment)
        .where(
            PriceListAssignment.id == assignment_id,
            PriceListAssignment.price_list_id == price_list_id,
        )
        .returning(PriceListAssignment.buyer_id, PriceListAssignment.group_id)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])
