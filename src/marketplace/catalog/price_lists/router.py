"""Price list HTTP routes: a supplier's buyer groups and price lists."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, status

from marketplace.catalog import caching
from marketplace.catalog.deps import SupplierId
from marketplace.catalog.price_lists import service
from marketplace.catalog.price_lists.schemas import (
    AssignmentCreate,
    AssignmentRead,
    BuyerGroupCreate,
    BuyerGroupMemberAdd,
    BuyerGroupRead,
    BuyerGroupUpdate,
    PriceListCreate,
    PriceListDetail,
    PriceListProductRead,
    PriceListRead,
    PriceListTiersIn,
    PriceListUpdate,
)
from marketplace.core.deps import CacheDep, SessionDep
from marketplace.core.openapi import problems
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page


async def _retire_buyer_prices(
    request: Request, supplier_id: SupplierId, session: SessionDep, cache: CacheDep
) -> None:
    """Any write to a buyer group or a price list (its tiers, its assignments) retires
    every buyer's cached price list choice (`service.buyer_price_list`), now and again
    after the write commits, as product writes retire their entries. After the
    supplier is resolved: only a supplier's member can retire them."""
    if request.method not in ("GET", "HEAD"):
        await caching.invalidate_pricing(session, cache)


_PRICING_WRITES = [Depends(_retire_buyer_prices)]


buyer_groups_router = APIRouter(
    prefix="/buyer-groups", tags=["price lists"], dependencies=_PRICING_WRITES
)


price_lists_router = APIRouter(
    prefix="/price-lists", tags=["price lists"], dependencies=_PRICING_WRITES
)


@buyer_groups_router.get("", response_model=Page[BuyerGroupRead])
async def list_buyer_groups(
    supplier_id: SupplierId,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[BuyerGroupRead]:
    """Your named groups of buyer companies, by name."""
    return await service.list_groups(session, supplier_id, limit, cursor)


@buyer_groups_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=BuyerGroupRead, responses=problems(409)
)
async def create_buyer_group(
    body: BuyerGroupCreate, supplier_id: SupplierId, session: SessionDep
) -> BuyerGroupRead:
    """Create a buyer group (e.g. "Distributors") to give a price list to at once."""
    return await service.create_group(session, supplier_id, body)


@buyer_groups_router.get("/{group_id}", response_model=BuyerGroupRead)
async def get_buyer_group(
    group_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> BuyerGroupRead:
    """One of your buyer groups with its members."""
    return await service.get_group(session, supplier_id, group_id)


@buyer_groups_router.patch("/{group_id}", response_model=BuyerGroupRead, responses=problems(409))
async def rename_buyer_group(
    group_id: uuid.UUID, body: BuyerGroupUpdate, supplier_id: SupplierId, session: SessionDep
) -> BuyerGroupRead:
    """Rename a buyer group."""
    return await service.rename_group(session, supplier_id, group_id, body)


@buyer_groups_router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_buyer_group(
    group_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> None:
    """Delete a buyer group; price lists assigned to it no longer apply to its members."""
    await service.delete_group(session, supplier_id, group_id)


@buyer_groups_router.post("/{group_id}/members", response_model=BuyerGroupRead)
async def add_buyer_group_member(
    group_id: uuid.UUID, body: BuyerGroupMemberAdd, supplier_id: SupplierId, session: SessionDep
) -> BuyerGroupRead:
    """Add a buyer company to the group (idempotent)."""
    return await service.add_member(session, supplier_id, group_id, body.buyer_id)


@buyer_groups_router.delete(
    "/{group_id}/members/{buyer_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_buyer_group_member(
    group_id: uuid.UUID, buyer_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> None:
    """Take a buyer company out of the group."""
    await service.remove_member(session, supplier_id, group_id, buyer_id)


@price_lists_router.get("", response_model=Page[PriceListRead])
async def list_price_lists(
    supplier_id: SupplierId,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PriceListRead]:
    """Your price lists, highest priority first, then by name."""
    return await service.list_price_lists(session, supplier_id, limit, cursor)


@price_lists_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PriceListRead, responses=problems(409)
)
async def create_price_list(
    body: PriceListCreate, supplier_id: SupplierId, session: SessionDep
) -> PriceListRead:
    """Create a price list. Where several active lists of yours apply to a buyer and a
    product, the highest `priority` wins."""
    return await service.create_price_list(session, supplier_id, body)


@price_lists_router.get("/{price_list_id}", response_model=PriceListDetail)
async def get_price_list(
    price_list_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> PriceListDetail:
    """A price list with its products' tiers and its assignments."""
    return await service.get_price_list(session, supplier_id, price_list_id)


@price_lists_router.patch("/{price_list_id}", response_model=PriceListRead, responses=problems(409))
async def update_price_list(
    price_list_id: uuid.UUID, body: PriceListUpdate, supplier_id: SupplierId, session: SessionDep
) -> PriceListRead:
    """Rename, re-prioritise, activate or deactivate a price list."""
    return await service.update_price_list(session, supplier_id, price_list_id, body)


@price_lists_router.delete("/{price_list_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_price_list(
    price_list_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> None:
    """Delete a price list with its tiers and assignments."""
    await service.delete_price_list(session, supplier_id, price_list_id)


@price_lists_router.put(
    "/{price_list_id}/products/{product_id}", response_model=PriceListProductRead
)
async def set_price_list_tiers(
    price_list_id: uuid.UUID,
    product_id: uuid.UUID,
    body: PriceListTiersIn,
    supplier_id: SupplierId,
    session: SessionDep,
) -> PriceListProductRead:
    """Set the list's tiers for one of your products (ascending, positive); below the
    first tier the product's own tiers apply. Empty `tiers` takes it off the list."""
    return await service.set_product_tiers(session, supplier_id, price_list_id, product_id, body)


@price_lists_router.post(
    "/{price_list_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssignmentRead,
    responses=problems(409),
)
async def assign_price_list(
    price_list_id: uuid.UUID, body: AssignmentCreate, supplier_id: SupplierId, session: SessionDep
) -> AssignmentRead:
    """Give the list to a buyer company (`buyer_id`) or a buyer group (`group_id`)."""
    return await service.assign(session, supplier_id, price_list_id, body)


@price_lists_router.delete(
    "/{price_list_id}/assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def unassign_price_list(
    price_list_id: uuid.UUID, assignment_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep
) -> None:
    """End an assignment."""
    await service.unassign(session, supplier_id, price_list_id, assignment_id)
