"""Business rules of products: writes with their validation, visibility-aware reads,
buyer prices and staff moderation.

Every product write, from the API or from a CSV import, goes through `create_product`,
`update_product` or `upsert_product`, so that both validate identically. Functions
take the session; they flush, never commit (the request owns the transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching, events, repository
from marketplace.catalog.categories import repository as categories_repository
from marketplace.catalog.errors import (
    DuplicateSku,
    ProductChanged,
    ProductInvalid,
    ProductNotFound,
    SupplierRequired,
)
from marketplace.catalog.models import Product, ProductImage
from marketplace.catalog.price_lists import service as price_lists_service
from marketplace.catalog.price_lists.models import PriceListTiers, Tier
from marketplace.catalog.price_lists.service import BuyerPriceEntry
from marketplace.catalog.repository import ImageRow, ProductRow
from marketplace.catalog.schemas import (
    ImageRead,
    ImageUrls,
    Moderation,
    OwnProductItem,
    PriceQuoteRead,
    ProductCategory,
    ProductCreate,
    ProductRead,
    ProductStatus,
    ProductUpdate,
    SupplierSummary,
    TierRead,
    Unit,
    VariantRead,
)
from marketplace.companies.permissions import Action
from marketplace.core.access import ANONYMOUS, Actor, Viewer
from marketplace.core.cache import Cache
from marketplace.core.errors import ValidationFailed
from marketplace.core.etags import if_match_allows, version_etag
from marketplace.core.events import FieldChange, emit
from marketplace.core.logging import get_logger
from marketplace.core.middleware.public_cache import Missed
from marketplace.core.pagination import Page, decode_time_keyset
from marketplace.core.repository import page_of
from marketplace.core.tenancy import may_change_cached

logger = get_logger(__name__)

SUPPLIER_KINDS: Final = frozenset({"supplier", "both"})
IMAGE_SIZES: Final = ("thumb", "medium", "large")
API_PREFIX: Final = "/api/v1"
_SKU_CONSTRAINT: Final = "uq_products_supplier_id_sku"


def _now() -> datetime:
    return datetime.now(UTC)


def ensure_supplier(actor: Actor) -> uuid.UUID:
    """The acting company's id, if it is a supplier (a buyer company has no catalog)."""
    if actor.company.kind not in SUPPLIER_KINDS:
        raise SupplierRequired()
    return actor.company_id


# --- validation -------------------------------------------------------------------


def _error(field: str | Sequence[str | int], message: str) -> dict[str, Any]:
    location = [field] if isinstance(field, str) else list(field)
    return {"loc": ["body", *map(str, location)], "msg": message, "type": "value_error"}


def _is_whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def rule_errors(values: Mapping[str, Any], tiers: Sequence[Tier]) -> list[dict[str, Any]]:
    """Rules that span several fields of a complete product (`values` as columns)."""
    # Locations as strings, like those of request validation ("price_tiers", "0").
    errors: list[dict[str, Any]] = [
        {**error, "loc": [str(part) for part in error["loc"]]}  # type: ignore[attr-defined]
        for error in price_lists_service.tier_errors(tiers, values["moq"])
    ]
    moq: Decimal = values["moq"]
    multiple: Decimal | None = values["order_multiple"]
    if multiple is not None and moq % multiple != 0:
        errors.append(
            _error("moq", "the minimum order quantity must be a multiple of order_multiple")
        )
    unit = Unit(values["unit"])
    if unit.is_countable:
        message = f"must be a whole number: {unit.value} is counted in whole units"
        for field in ("moq", "order_multiple", "stock"):
            value = values[field]
            if value is not None and not _is_whole(value):
                errors.append(_error(field, message))
        for index, tier in enumerate(tiers):
            if not _is_whole(tier.min_qty):
                errors.append(_error(("price_tiers", index, "min_qty"), message))
    return errors


# --- writes -----------------------------------------------------------------------

# Columns a client may set; everything else (supplier, base price, moderation) is ours.
_COLUMNS: Final = (
    "sku",
    "name",
    "description",
    "category_id",
    "unit",
    "currency",
    "moq",
    "order_multiple",
    "stock",
    "lead_time_days",
    "attributes",
    "status",
    "parent_id",
)


class Unread:
    """A cache entry not read yet (None would say it was read and missing)."""


UNREAD: Final = Unread()


@dataclass
class _Changes:
    columns: dict[str, Any]
    tiers: list[Tier] | None


async def _changes_from(
    session: AsyncSession, fields: Mapping[str, Any], errors: list[dict[str, Any]]
) -> _Changes:
    """Client fields (already type-checked by the schema) as column values."""
    columns: dict[str, Any] = {}
    tiers: list[Tier] | None = None
    for name, value in fields.items():
        if name == "price_tiers":
            tiers = [Tier(min_qty=tier["min_qty"], unit_price=tier["unit_price"]) for tier in value]
        elif name == "category":
            columns["category_id"] = None
            if value is not None:
                category = await categories_repository.category_by_ref(session, value)
                if category is None:
                    errors.append(_error("category", f"there is no category {value!r}"))
                else:
                    columns["category_id"] = category.id
        elif name in ("unit", "status"):
            columns[name] = str(value.value if hasattr(value, "value") else value)
        else:
            columns[name] = value
    return _Changes(columns=columns, tiers=tiers)


async def _check_family(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    product_id: uuid.UUID | None,
    parent_id: uuid.UUID,
    errors: list[dict[str, Any]],
) -> None:
    """A variant's head is another product of the same supplier that is no variant
    itself, and a product that heads a family cannot become a variant. The rows are
    locked in id order, so concurrent re-parenting cannot build a deeper tree."""
    if parent_id == product_id:
        errors.append(_error("parent_id", "a product cannot be its own family head"))
        return
    ids = [parent_id] if product_id is None else [parent_id, product_id]
    locked = await repository.lock_supplier_products(session, supplier_id, ids)
    parent = locked.get(parent_id)
    if parent is None:
        errors.append(_error("parent_id", "there is no product of yours with this id"))
    elif parent.parent_id is not None:
        errors.append(_error("parent_id", "this product is itself a variant of another"))
    if product_id is not None and await repository.has_variants(session, supplier_id, product_id):
        errors.append(_error("parent_id", "this product heads a family of variants"))


def _stored_columns(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in _COLUMNS}


def _tiers_value(tiers: Sequence[Tier]) -> list[dict[str, Decimal]]:
    return [{"min_qty": tier.min_qty, "unit_price": tier.unit_price} for tier in tiers]


@dataclass(frozen=True)
class _Written:
    """A product after `_write`, with what changed: the stored values before and after
    (empty when nothing was written, or when the product is new)."""

    product: Product
    changes: dict[str, FieldChange]

    @property
    def is_changed(self) -> bool:
        return bool(self.changes)


async def _write(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    product: Product | None,
    fields: Mapping[str, Any],
    cache: Cache | None,
) -> _Written:
    """Validate the whole resulting product and write it."""
    errors: list[dict[str, Any]] = []
    changes = await _changes_from(session, fields, errors)
    if product is None:
        merged = {**_DEFAULTS, **changes.columns}
        stored_tiers: list[Tier] = []
    else:
        merged = {**_stored_columns(product), **changes.columns}
        stored_tiers = (await repository.tiers_for(session, [product.id]))[product.id]
    tiers = changes.tiers if changes.tiers is not None else stored_tiers
    parent_id = merged["parent_id"]
    old_parent_id = product.parent_id if product is not None else None
    if parent_id is not None and (product is None or parent_id != old_parent_id):
        await _check_family(
            session, supplier_id, product.id if product else None, parent_id, errors
        )
    if not errors:
        errors = rule_errors(merged, tiers)
    if errors:
        raise ProductInvalid(errors=errors)

    tiers_changed = tiers != stored_tiers
    if product is not None and not tiers_changed and merged == _stored_columns(product):
        return _Written(product, {})
    before = _stored_columns(product) if product is not None else None
    try:
        async with session.begin_nested():
            is_new = product is None
            if product is None:
                product = Product(id=uuid.uuid4(), supplier_id=supplier_id, **merged)
            else:
                for name, value in merged.items():
                    if getattr(product, name) != value:
                        setattr(product, name, value)
            product.base_price = tiers[0].unit_price
            if product.status == ProductStatus.ACTIVE and product.published_at is None:
                product.published_at = _now()
            product.updated_at = _now()
            if is_new:
                await repository.add(session, product)
            else:
                await repository.flush(session)
            if tiers_changed:
                await repository.replace_tiers(session, product.id, tiers)
    except IntegrityError as error:
        if _SKU_CONSTRAINT in str(error.orig):
            raise DuplicateSku(sku=merged["sku"]) from error
        raise
    await session.refresh(product)
    if cache is not None:
        affected = {product.id, *(pid for pid in (old_parent_id, parent_id) if pid is not None)}
        await caching.invalidate_products(session, cache, affected)
    if before is None:
        return _Written(product, {})
    # Compared as stored (after the refresh), so that a value sent as "100" and stored
    # as 100.000 is not a change and before/after read alike.
    after = _stored_columns(product)
    changed = {
        name: FieldChange(before=before[name], after=after[name])
        for name in _COLUMNS
        if before[name] != after[name]
    }
    if tiers_changed:
        written_tiers = (await repository.tiers_for(session, [product.id]))[product.id]
        changed["price_tiers"] = FieldChange(
            before=_tiers_value(stored_tiers), after=_tiers_value(written_tiers)
        )
    return _Written(product, changed)


_DEFAULTS: Final[dict[str, Any]] = {
    "description": "",
    "category_id": None,
    "moq": Decimal(1),
    "order_multiple": None,
    "stock": Decimal(0),
    "lead_time_days": 0,
    "attributes": {},
    "status": ProductStatus.DRAFT.value,
    "parent_id": None,
}


async def create_product(
    session: AsyncSession, cache: Cache | None, supplier_id: uuid.UUID, data: ProductCreate
) -> Product:
    """A new product of the supplier; 409 when the SKU is taken, 422 when invalid."""
    written = await _write(session, supplier_id, None, data.model_dump(exclude_unset=False), cache)
    product = written.product
    await emit(
        session,
        events.ProductCreated(
            product_id=product.id,
            supplier_id=supplier_id,
            sku=product.sku,
            name=product.name,
            status=product.status,
            currency=product.currency,
            parent_id=product.parent_id,
        ),
    )
    return product


async def update_product(
    session: AsyncSession,
    cache: Cache | None,
    supplier_id: uuid.UUID,
    product_id: uuid.UUID,
    data: ProductUpdate,
    *,
    if_match: str | None = None,
) -> Product:
    """Change the fields sent; the whole resulting product is validated again. A
    change is announced as `product.updated` with each field before and after; a
    request that changes nothing writes and announces nothing. With `if_match`, the
    write applies only if it names the product's current ETag (else 412, unchanged)."""
    product = await repository.supplier_product(session, supplier_id, product_id, lock=True)
    if product is None:
        raise ProductNotFound()
    # Compared under the row lock: of concurrent writers sending the same ETag, the
    # first bumps the version and every later one finds it stale.
    current = version_etag(product.version)
    if if_match is not None and not if_match_allows(if_match, current):
        raise ProductChanged(headers={"ETag": current})
    written = await _write(
        session, supplier_id, product, data.model_dump(include=data.model_fields_set), cache
    )
    if written.is_changed:
        await emit(
            session,
            events.ProductUpdated(
                product_id=product_id,
                supplier_id=supplier_id,
                sku=written.product.sku,
                changes=written.changes,
            ),
        )
    return written.product


async def upsert_product(
    session: AsyncSession, supplier_id: uuid.UUID, data: ProductCreate, *, cache: Cache | None
) -> tuple[Product, bool]:
    """Create the supplier's product with `data.sku`, or update it: fields that `data`
    was not given explicitly (`model_fields_set`) keep their stored values. Returns
    `(product, created)`. Validation is exactly that of the API (`ProductInvalid`, a
    422 whose `errors[].loc` name the fields); an unchanged product is not written.

    `cache=None` leaves cache invalidation to the caller (batch writers invalidate
    once per batch with `caching.invalidate_products`). No event: the import, its
    only caller, announces the whole job once (`product.imported`)."""
    product = await repository.supplier_product_by_sku(session, supplier_id, data.sku, lock=True)
    if product is None:
        created = await _write(
            session, supplier_id, None, data.model_dump(exclude_unset=False), cache
        )
        return created.product, True
    fields = data.model_dump(include=data.model_fields_set - {"sku"})
    updated = await _write(session, supplier_id, product, fields, cache)
    return updated.product, False


async def archive_product(
    session: AsyncSession, cache: Cache, supplier_id: uuid.UUID, product_id: uuid.UUID
) -> None:
    """Archiving hides the product from buyers; its SKU, orders and history stay.
    Archiving an archived product changes and announces nothing."""
    product = await repository.supplier_product(session, supplier_id, product_id, lock=True)
    if product is None:
        raise ProductNotFound()
    if product.status != ProductStatus.ARCHIVED:
        previous_status = product.status
        product.status = ProductStatus.ARCHIVED.value
        product.updated_at = _now()
        await repository.flush(session)
        await caching.invalidate_products(session, cache, [product.id])
        await emit(
            session,
            events.ProductArchived(
                product_id=product.id,
                supplier_id=supplier_id,
                sku=product.sku,
                previous_status=previous_status,
                status=product.status,
            ),
        )


# --- reads ------------------------------------------------------------------------


def owns(viewer: Viewer, supplier_id: uuid.UUID) -> bool:
    """The viewer acts for the supplier and may read its catalog. `supplier_id` comes
    from a product's row or its cached detail; whose product it is, the tenancy gate's
    rule decides (`may_change_cached`), so the cached fast path needs no row."""
    actor = viewer.actor
    return (
        actor is not None
        and actor.can(Action.CATALOG_READ)
        and may_change_cached(Product, {"supplier_id": supplier_id}, actor)
    )


def sees_private(viewer: Viewer, supplier_id: uuid.UUID) -> bool:
    """Staff and the supplier's own readers see drafts, archived and blocked products."""
    return viewer.is_staff or owns(viewer, supplier_id)


def buyer_of(viewer: Viewer) -> uuid.UUID | None:
    """The company whose prices apply: the acting company, if it may read them."""
    actor = viewer.actor
    if actor is not None and actor.can(Action.CATALOG_READ):
        return actor.company_id
    return None


def image_url(product_id: uuid.UUID, image_id: uuid.UUID, size: str) -> str:
    return f"{API_PREFIX}/products/{product_id}/images/{image_id}/{size}"


def image_read(image: ProductImage | ImageRow) -> ImageRead:
    urls = {size: image_url(image.product_id, image.id, size) for size in IMAGE_SIZES}
    return ImageRead(
        id=image.id,
        position=image.position,
        alt_text=image.alt_text,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        urls=ImageUrls(**urls),
    )


def _build_detail(row: ProductRow, *, public: bool) -> ProductRead:
    product = row.product
    tiers = row.tiers
    images = row.images
    family = [member for member, visible in row.family if visible or not public]
    head_id = product.parent_id or product.id
    category = row.category
    return ProductRead(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        category=(
            ProductCategory(
                id=category.id, slug=category.slug, name=category.name, path=category.path
            )
            if category is not None
            else None
        ),
        unit=Unit(product.unit),
        currency=product.currency,
        price_tiers=[TierRead(min_qty=t.min_qty, unit_price=t.unit_price) for t in tiers],
        base_price=product.base_price,
        moq=product.moq,
        order_multiple=product.order_multiple,
        stock=product.stock,
        in_stock=product.in_stock,
        lead_time_days=product.lead_time_days,
        attributes={str(key): str(value) for key, value in product.attributes.items()},
        status=ProductStatus(product.status),
        parent_id=product.parent_id,
        variants=[
            VariantRead(
                id=member.id,
                sku=member.sku,
                name=member.name,
                attributes={str(key): str(value) for key, value in member.attributes.items()},
                status=ProductStatus(member.status),
                is_family_head=member.id == head_id,
            )
            for member in family
        ],
        images=[image_read(image) for image in images],
        supplier=SupplierSummary(
            id=row.supplier.id,
            name=row.supplier.name,
            country=row.supplier.country,
            verification_status=row.supplier.verification_status,
        ),
        published_at=product.published_at,
        created_at=product.created_at,
        updated_at=product.updated_at,
        moderation=(
            None
            if public
            else Moderation(is_blocked=product.is_blocked, blocked_reason=product.blocked_reason)
        ),
        version=product.version,
    )


async def _public_detail(cache: Cache, row: ProductRow) -> tuple[ProductRead, bytes]:
    """The public detail of a visible product's row, stored in the shared cache."""
    detail = _build_detail(row, public=True)
    encoded = detail.model_dump_json().encode()
    await caching.store(
        cache, caching.product_key(row.product.id), encoded, caching.PRODUCT_DETAIL_TTL_SECONDS
    )
    return detail, encoded


async def private_detail(
    session: AsyncSession, product_id: uuid.UUID, viewer: Viewer
) -> ProductRead | None:
    """Everything about the product, for its supplier's members and staff."""
    row = await repository.product_row(session, product_id, viewer)
    if row is None or not sees_private(viewer, row.product.supplier_id):
        return None
    return _build_detail(row, public=False)


async def supplier_detail(
    session: AsyncSession, supplier_id: uuid.UUID, product_id: uuid.UUID
) -> ProductRead:
    """The detail a supplier's writer gets back after a write."""
    row = await repository.product_row(session, product_id, supplier_id, own=True)
    if row is None:
        raise ProductNotFound()
    return _build_detail(row, public=False)


async def cached_public_detail(cache: Cache, product_id: uuid.UUID) -> bytes | None:
    """The shared entry of a product's public detail, exactly as anonymous visitors get
    it, or None (not cached, or the cache is unavailable)."""
    return await caching.read(cache, caching.product_key(product_id))


async def public_detail_lookup(cache: Cache, product_id: uuid.UUID) -> bytes | Missed:
    """The lookup before routing: the shared entry, or the key it missed."""
    cached = await cached_public_detail(cache, product_id)
    return Missed(caching.product_key(product_id)) if cached is None else cached


async def _detail_for(
    session: AsyncSession,
    cache: Cache,
    viewer: Viewer,
    product_id: uuid.UUID,
    *,
    cache_missed: bool = False,
    entry: bytes | Unread | None = UNREAD,
) -> tuple[ProductRead | None, bytes | None]:
    """The detail this viewer may see: (model, None) or, when the shared public entry
    can be served as it is, (None, bytes). 404 when the viewer may not see it.

    One read of each thing: the cache once (not at all when `cache_missed`, i.e. this
    request already missed the entry before routing, nor when the caller read the
    `entry` already), then the product's row once; the row says both whose it is and
    whether anyone may see it."""
    if cache_missed:
        cached = None
    elif isinstance(entry, Unread):
        cached = await cached_public_detail(cache, product_id)
    else:
        cached = entry
    if cached is not None:
        if viewer.reads_public_only:
            return None, cached
        detail = ProductRead.model_validate_json(cached)
        if not sees_private(viewer, detail.supplier.id):
            return detail, cached
    reader = ANONYMOUS if viewer.reads_public_only else viewer
    row = await repository.product_row(session, product_id, reader)
    if row is None:
        raise ProductNotFound()
    if not viewer.reads_public_only and sees_private(viewer, row.product.supplier_id):
        return _build_detail(row, public=False), None
    if not row.is_visible:
        raise ProductNotFound()
    return await _public_detail(cache, row)


async def your_price(
    session: AsyncSession,
    cache: Cache,
    buyer_id: uuid.UUID,
    detail: ProductRead,
    quantity: Decimal,
    *,
    prefetched: BuyerPriceEntry | None = None,
) -> PriceQuoteRead:
    """The one pricing function applied to this buyer: its price list, then the tiers."""
    return _quote(
        detail,
        quantity,
        await price_lists_service.buyer_price_list(
            session, cache, buyer_id, detail.id, prefetched=prefetched
        ),
    )


def _quote(
    detail: ProductRead, quantity: Decimal, price_list: PriceListTiers | None
) -> PriceQuoteRead:
    result = price_lists_service.quote(
        quantity,
        moq=detail.moq,
        order_multiple=detail.order_multiple,
        tiers=[Tier(min_qty=t.min_qty, unit_price=t.unit_price) for t in detail.price_tiers],
        price_list=price_list,
        whole_unit=detail.unit.value if detail.unit.is_countable else None,
    )
    return PriceQuoteRead(
        quantity=result.quantity,
        unit_price=result.unit_price,
        line_total=result.line_total,
        currency=detail.currency,
        source=result.source,
        tier_min_qty=result.tier_min_qty,
        price_list_id=result.price_list_id,
    )


async def product_detail(
    session: AsyncSession,
    cache: Cache,
    viewer: Viewer,
    product_id: uuid.UUID,
    *,
    missed_key: str | None = None,
) -> ProductRead | bytes:
    """The product as this viewer may see it (404 otherwise). Anonymous visitors get
    the shared cached entry as it is (bytes); a buyer gets it with `your_price`, its
    own price at the MOQ, computed per request from its cached price list. `missed_key`: the
    entry this request already found missing before routing (`public_cache`)."""
    cache_missed = missed_key is not None and missed_key == caching.product_key(product_id)
    buyer_id = buyer_of(viewer)
    entry: bytes | Unread | None = UNREAD
    prefetched = None
    if buyer_id is not None:
        # A buyer's detail needs the shared entry and the buyer's price list choice:
        # both in one round trip (each Redis call costs about 0.1 ms of CPU).
        entry, prefetched = await price_lists_service.read_with_buyer_prices(
            cache, caching.product_key(product_id), caching.buyer_price_key(buyer_id, product_id)
        )
    detail, encoded = await _detail_for(
        session, cache, viewer, product_id, cache_missed=cache_missed, entry=entry
    )
    if detail is None:
        assert encoded is not None
        return encoded
    if buyer_id is not None and not owns(viewer, detail.supplier.id):
        try:
            detail.your_price = await your_price(
                session, cache, buyer_id, detail, detail.moq, prefetched=prefetched
            )
        except ValidationFailed:
            # Data older than today's rules (e.g. a MOQ off the pack size): no price
            # at the MOQ rather than a failed page; the price endpoint says why.
            logger.warning("catalog.your_price_unavailable", product_id=str(product_id))
    return detail


async def price_quote(
    session: AsyncSession,
    cache: Cache,
    viewer: Viewer,
    product_id: uuid.UUID,
    quantity: Decimal,
) -> PriceQuoteRead:
    """What `quantity` units cost this viewer (the public tiers when anonymous)."""
    detail, encoded = await _detail_for(session, cache, viewer, product_id)
    if detail is None:
        assert encoded is not None
        detail = ProductRead.model_validate_json(encoded)
    buyer_id = buyer_of(viewer)
    if buyer_id is None or owns(viewer, detail.supplier.id):
        return _quote(detail, quantity, None)
    return await your_price(session, cache, buyer_id, detail, quantity)


async def own_products(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    status: ProductStatus | None,
) -> Page[OwnProductItem]:
    """The supplier's own catalog, newest first, drafts and archived included."""
    rows = await repository.own_products_page(
        session,
        supplier_id,
        decode_time_keyset(cursor),
        limit + 1,
        status.value if status is not None else None,
    )
    return page_of(rows, limit, await _own_items(session, rows[:limit]))


async def own_products_by_sku(
    session: AsyncSession, supplier_id: uuid.UUID, limit: int, status: ProductStatus
) -> list[OwnProductItem]:
    """The supplier's first `limit` products in `status`, in SKU order."""
    rows = await repository.own_products_by_sku(session, supplier_id, status.value, limit)
    return await _own_items(session, rows)


async def _own_items(session: AsyncSession, products: Sequence[Product]) -> list[OwnProductItem]:
    tiers = await repository.tiers_for(session, [product.id for product in products])
    return [
        OwnProductItem(
            id=product.id,
            sku=product.sku,
            name=product.name,
            status=ProductStatus(product.status),
            unit=Unit(product.unit),
            currency=product.currency,
            price_tiers=[
                TierRead(min_qty=tier.min_qty, unit_price=tier.unit_price)
                for tier in tiers[product.id]
            ],
            base_price=product.base_price,
            moq=product.moq,
            order_multiple=product.order_multiple,
            stock=product.stock,
            in_stock=product.in_stock,
            lead_time_days=product.lead_time_days,
            moderation=Moderation(
                is_blocked=product.is_blocked, blocked_reason=product.blocked_reason
            ),
            created_at=product.created_at,
            updated_at=product.updated_at,
            version=product.version,
        )
        for product in products
    ]


# --- moderation -------------------------------------------------------------------


async def set_blocked(
    session: AsyncSession,
    cache: Cache,
    staff: Viewer,
    product_id: uuid.UUID,
    *,
    blocked: bool,
    reason: str | None,
) -> ProductRead:
    """Staff block (with a reason) or unblock a product; a blocked product disappears
    from every public read at once."""
    product = await repository.set_blocked(
        session, product_id, blocked=blocked, reason=reason if blocked else None
    )
    if product is None:
        raise ProductNotFound()
    event_type = events.ProductBlocked if blocked else events.ProductUnblocked
    await emit(
        session,
        event_type(
            product_id=product.id,
            supplier_id=product.supplier_id,
            sku=product.sku,
            reason=reason if blocked else None,
        ),
    )
    await caching.invalidate_products(session, cache, [product_id])
    logger.info(
        "catalog.product.blocked" if blocked else "catalog.product.unblocked",
        product_id=str(product_id),
        staff_user_id=str(staff.user_id),
        reason=reason,
    )
    row = await repository.product_row(session, product_id, staff)
    assert row is not None
    return _build_detail(row, public=False)
