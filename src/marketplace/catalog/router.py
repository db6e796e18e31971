"""Catalog HTTP routes: products, prices, moderation. (Search lists products at
`GET /products`; the CSV import and export live in `catalog.imports`.)"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from marketplace.catalog import service
from marketplace.catalog.deps import SupplierId, ViewerDep
from marketplace.catalog.schemas import (
    BlockRequest,
    PriceQuoteRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from marketplace.core.deps import CacheDep, SessionDep
from marketplace.identity.deps import CurrentStaff

products_router = APIRouter(prefix="/products", tags=["catalog"])
admin_products_router = APIRouter(prefix="/admin/products", tags=["admin"])

# `:uuid` keeps /products/export, /products/import etc. out of these routes.
PRODUCT = "/{product_id:uuid}"
JSON = "application/json"


@products_router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductRead)
async def create_product(
    body: ProductCreate, supplier_id: SupplierId, session: SessionDep, cache: CacheDep
) -> ProductRead:
    """Add a product to your catalog (owners, admins and sales of a supplier, or an API
    key with `catalog:write`). Prices are decimal strings; the first price tier must
    start at or below the MOQ; the MOQ must be a multiple of `order_multiple`."""
    product = await service.create_product(session, cache, supplier_id, body)
    return await service.supplier_detail(session, supplier_id, product.id)


@products_router.get(PRODUCT, response_model=ProductRead)
async def get_product(
    product_id: uuid.UUID, viewer: ViewerDep, session: SessionDep, cache: CacheDep
) -> ProductRead | Response:
    """A product's detail: public when active, not blocked and of a verified supplier;
    the supplier's members also see their drafts, archived and blocked products.
    Signed in for a buyer company, `your_price` is your price at the MOQ."""
    detail = await service.product_detail(session, cache, viewer, product_id)
    if isinstance(detail, bytes):
        return Response(content=detail, media_type=JSON)
    return detail


@products_router.get(PRODUCT + "/price", response_model=PriceQuoteRead)
async def get_price(
    product_id: uuid.UUID,
    quantity: Annotated[
        Decimal,
        Query(max_digits=18, decimal_places=3, allow_inf_nan=False, description="Units."),
    ],
    viewer: ViewerDep,
    session: SessionDep,
    cache: CacheDep,
) -> PriceQuoteRead:
    """The price of `quantity` units for the company you act for: its price list if one
    applies, else the product's tiers. 422 below the MOQ or off the pack size."""
    return await service.price_quote(session, cache, viewer, product_id, quantity)


@products_router.patch(PRODUCT, response_model=ProductRead)
async def update_product(
    product_id: uuid.UUID,
    body: ProductUpdate,
    supplier_id: SupplierId,
    session: SessionDep,
    cache: CacheDep,
) -> ProductRead:
    """Change your product; `price_tiers` replaces the whole tier table."""
    await service.update_product(session, cache, supplier_id, product_id, body)
    return await service.supplier_detail(session, supplier_id, product_id)


@products_router.delete(PRODUCT, status_code=status.HTTP_204_NO_CONTENT)
async def archive_product(
    product_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep, cache: CacheDep
) -> None:
    """Archive your product: hidden from buyers, kept for orders and history. Set its
    status to `active` again to restore it."""
    await service.archive_product(session, cache, supplier_id, product_id)


@admin_products_router.post(PRODUCT + "/block", response_model=ProductRead)
async def block_product(
    product_id: uuid.UUID,
    body: BlockRequest,
    staff: CurrentStaff,
    session: SessionDep,
    cache: CacheDep,
) -> ProductRead:
    """Block a product (staff): it disappears from every public read at once."""
    return await service.set_blocked(
        session, cache, staff.user.id, product_id, blocked=True, reason=body.reason
    )


@admin_products_router.post(PRODUCT + "/unblock", response_model=ProductRead)
async def unblock_product(
    product_id: uuid.UUID, staff: CurrentStaff, session: SessionDep, cache: CacheDep
) -> ProductRead:
    """Lift a block (staff)."""
    return await service.set_blocked(
        session, cache, staff.user.id, product_id, blocked=False, reason=None
    )
