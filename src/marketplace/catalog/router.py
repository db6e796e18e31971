"""Catalog HTTP routes: products, their prices and images, moderation. (Search lists
products at `GET /products`; the CSV import and export live in `catalog.imports`, the
category tree in `catalog.categories`, price lists in `catalog.price_lists`.)"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    File,
    Form,
    Header,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from starlette.convertors import CONVERTOR_TYPES

from marketplace.catalog import caching, images, service
from marketplace.catalog.deps import CatalogReader, SupplierId, ViewerDep
from marketplace.catalog.schemas import (
    BlockRequest,
    ImageRead,
    OwnProductItem,
    PriceQuoteRead,
    ProductCreate,
    ProductRead,
    ProductStatus,
    ProductUpdate,
)
from marketplace.core.cache import Cache
from marketplace.core.deps import CacheDep, PlatformDep, ReadOnlySessionDep, SessionDep
from marketplace.core.etags import version_etag
from marketplace.core.middleware.public_cache import CachedRead, Missed, missed_key, route_of
from marketplace.core.openapi import problems
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.core.text import Text
from marketplace.identity.deps import StaffReader

products_router = APIRouter(prefix="/products", tags=["catalog"])
admin_products_router = APIRouter(prefix="/admin/products", tags=["admin"])


# `:uuid` keeps /products/export, /products/import etc. out of these routes.
PRODUCT = "/{product_id:uuid}"
JSON = "application/json"
_UUID_PATTERN = "[0-9a-fA-F-]{36}"
_ETAG_HEADER = {
    "ETag": {"description": 'The product\'s version: `"<version>"`.', "schema": {"type": "string"}}
}


def cached_public_reads(api_prefix: str) -> list[CachedRead]:
    """The anonymous read answered from the cache before routing: a product's page,
    with the same bytes `get_product` sends. The route reads no query parameters, so
    neither does the lookup. (The category tree's: `categories.router`.)"""
    products = re.escape(f"{api_prefix}/products/")
    return [
        CachedRead(
            route=route_of(products_router, get_product),
            pattern=re.compile(f"{products}(?P<product_id>{CONVERTOR_TYPES['uuid'].regex})"),
            lookup=_cached_product,
            first_key=_cached_product_key,
        ),
    ]


def _cached_product_key(match: re.Match[str], query: bytes) -> str:
    """The entry `_cached_product` reads, read ahead at the edge (`PrefetchedCache`)."""
    return caching.product_key(uuid.UUID(match["product_id"]))


async def _cached_product(cache: Cache, match: re.Match[str], query: bytes) -> bytes | Missed:
    # Converted as the route's `:uuid` converts it, so that both use the same key.
    return await service.public_detail_lookup(cache, uuid.UUID(match["product_id"]))


def body_limits(api_prefix: str, max_image_bytes: int) -> dict[str, int]:
    """Request body limits of the image upload route, for the body-size middleware."""
    return {
        f"{api_prefix}/products/{_UUID_PATTERN}/images": max_image_bytes
        + images.MULTIPART_ENVELOPE_BYTES
    }


@products_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ProductRead, responses=problems(409)
)
async def create_product(
    body: ProductCreate, supplier_id: SupplierId, session: SessionDep, cache: CacheDep
) -> ProductRead:
    """Add a product to your catalog (owners, admins and sales of a supplier, or an API
    key with `catalog:write`). Prices are decimal strings; the first price tier must
    start at or below the MOQ; the MOQ must be a multiple of `order_multiple`."""
    product = await service.create_product(session, cache, supplier_id, body)
    return await service.supplier_detail(session, supplier_id, product.id)


@products_router.get("/mine", response_model=Page[OwnProductItem])
async def list_own_products(
    actor: CatalogReader,
    session: SessionDep,
    status: Annotated[
        ProductStatus | None, Query(description="Only products of this status.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[OwnProductItem]:
    """Your company's own catalog, newest first, drafts and archived products included,
    each with its stock, price tiers and `version` (its ETag is `"<version>"`): what a
    stock and price editor needs without reading each product. Suppliers only (403)."""
    supplier_id = service.ensure_supplier(actor)
    return await service.own_products(session, supplier_id, limit, cursor, status)


@products_router.get(
    PRODUCT, response_model=ProductRead, responses={200: {"headers": _ETAG_HEADER}}
)
async def get_product(
    request: Request,
    product_id: uuid.UUID,
    viewer: ViewerDep,
    session: ReadOnlySessionDep,
    cache: CacheDep,
) -> Response:
    """A product's detail: public when active, not blocked and of a verified supplier;
    the supplier's members also see their drafts, archived and blocked products.
    Signed in for a buyer company, `your_price` is your price at the MOQ. Signed in,
    the `ETag` names the product's version, for `If-Match` on `PATCH`."""
    detail = await service.product_detail(
        session, cache, viewer, product_id, missed_key=missed_key(request)
    )
    if isinstance(detail, bytes):
        return Response(content=detail, media_type=JSON)
    # Encoded once, as the anonymous entry is: a returned model is dumped to a dict,
    # validated against `response_model` again and encoded (0.3 ms of a signed-in read).
    return Response(
        content=detail.model_dump_json(),
        media_type=JSON,
        headers={"ETag": version_etag(detail.version)},
    )


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


@products_router.patch(
    PRODUCT,
    response_model=ProductRead,
    responses={**problems(409, 412), 200: {"headers": _ETAG_HEADER}},
)
async def update_product(
    product_id: uuid.UUID,
    body: ProductUpdate,
    supplier_id: SupplierId,
    session: SessionDep,
    cache: CacheDep,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            max_length=1000,
            description='The `ETag` you read (`"<version>"`): the change applies only if '
            "nobody changed the product since, else 412 and nothing changes.",
        ),
    ] = None,
) -> ProductRead:
    """Change your product; `price_tiers` replaces the whole tier table. Without
    `If-Match` the change applies whatever happened since you read the product."""
    await service.update_product(session, cache, supplier_id, product_id, body, if_match=if_match)
    detail = await service.supplier_detail(session, supplier_id, product_id)
    response.headers["ETag"] = version_etag(detail.version)
    return detail


@products_router.delete(PRODUCT, status_code=status.HTTP_204_NO_CONTENT)
async def archive_product(
    product_id: uuid.UUID, supplier_id: SupplierId, session: SessionDep, cache: CacheDep
) -> None:
    """Archive your product: hidden from buyers, kept for orders and history. Set its
    status to `active` again to restore it."""
    await service.archive_product(session, cache, supplier_id, product_id)


# --- images -----------------------------------------------------------------------

AltTextForm = Annotated[Text, Form(max_length=300, description="Text for screen readers.")]


@products_router.post(
    PRODUCT + "/images",
    status_code=status.HTTP_201_CREATED,
    response_model=ImageRead,
    # 503: every image worker busy past IMAGE_QUEUE_SECONDS, or storage unwritable;
    # 507: the storage volume is full.
    responses=problems(503, 507),
)
async def upload_image(
    product_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF.")],
    supplier_id: SupplierId,
    session: SessionDep,
    cache: CacheDep,
    platform: PlatformDep,
    alt_text: AltTextForm = "",
) -> ImageRead:
    """Add an image to your product (multipart field `file`). The format is read from
    the bytes; it is stored in standard sizes (thumb 160, medium 640, large 1280 px)."""
    limit = platform.settings.max_image_bytes
    data = await file.read(limit + 1)
    return await images.upload(
        session,
        cache,
        platform.storage,
        supplier_id,
        product_id,
        data,
        work=platform.image_work,
        max_bytes=limit,
        max_pixels=platform.settings.max_image_pixels,
        alt_text=alt_text.strip(),
    )


@products_router.get(
    PRODUCT + "/images/{image_id}/{size}",
    response_class=Response,
    responses={200: {"content": {images.STORED_CONTENT_TYPE: {}}}, 304: {}},
)
async def get_image(
    product_id: uuid.UUID,
    image_id: uuid.UUID,
    size: Annotated[Text, Path(max_length=20)],
    viewer: ViewerDep,
    session: SessionDep,
    platform: PlatformDep,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """An image in one of the sizes `thumb`, `medium`, `large`, with an ETag (304 when
    `If-None-Match` names it) and caching headers."""
    served = await images.serve(
        session, platform.storage, viewer, product_id, image_id, size, if_none_match
    )
    headers = {"ETag": served.etag, "Cache-Control": served.cache_control}
    if served.content is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(served.content, media_type=images.STORED_CONTENT_TYPE, headers=headers)


@products_router.delete(PRODUCT + "/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_image(
    product_id: uuid.UUID,
    image_id: uuid.UUID,
    supplier_id: SupplierId,
    session: SessionDep,
    cache: CacheDep,
    platform: PlatformDep,
    background: BackgroundTasks,
) -> None:
    """Remove an image from your product."""
    files = await images.delete(session, cache, supplier_id, product_id, image_id)
    # After the response, so after the request's transaction committed the deletion;
    # the files of a deleted row are unreachable (404) even if removing them fails.
    background.add_task(platform.storage.delete_prefix, files)


# --- moderation -------------------------------------------------------------------


@admin_products_router.post(PRODUCT + "/block", response_model=ProductRead)
async def block_product(
    product_id: uuid.UUID,
    body: BlockRequest,
    staff: StaffReader,
    session: SessionDep,
    cache: CacheDep,
) -> ProductRead:
    """Block a product (staff): it disappears from every public read at once."""
    return await service.set_blocked(
        session, cache, staff, product_id, blocked=True, reason=body.reason
    )


@admin_products_router.post(PRODUCT + "/unblock", response_model=ProductRead)
async def unblock_product(
    product_id: uuid.UUID, staff: StaffReader, session: SessionDep, cache: CacheDep
) -> ProductRead:
    """Lift a block (staff)."""
    return await service.set_blocked(session, cache, staff, product_id, blocked=False, reason=None)
