"""Queries of the catalog's products, shared by products, search and imports: their
rows, families, tiers, images and stock.

Visibility has exactly one definition here: every public read goes through
`visible_products()` (buyer prices have theirs in `price_lists.repository`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Numeric,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import PriceTier, Product, ProductImage
from marketplace.catalog.price_lists.models import Tier
from marketplace.catalog.price_lists.repository import buyer_price_list_rows
from marketplace.companies.models import Company
from marketplace.core.access import ANONYMOUS, Viewer
from marketplace.core.driver import DriverStatement, EntityQuery
from marketplace.core.pagination import TimeKeyset
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.core.repository import keyset
from marketplace.core.repository import remove as remove
from marketplace.core.tenancy import changeable, may_change, may_read, readable, unscoped


def visible_condition() -> ColumnElement[bool]:
    """The public visibility rule, over `Product` joined to its supplier `Company`:
    active, not blocked by staff, of a verified supplier."""
    return and_(
        Product.status == "active",
        Product.is_blocked.is_(False),
        Company.verification_status == "verified",
    )


def visible_products() -> Select[Product]:
    """Products anyone may see (`visible_condition`): what the tenancy gate discloses to
    a reader acting for no company."""
    return readable(
        select(Product).join(Company, Company.id == Product.supplier_id),
        Product,
        ANONYMOUS,
        shared=visible_condition(),
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


# --- products ---------------------------------------------------------------------


def supplier_products(supplier_id: uuid.UUID) -> Select[Product]:
    """A supplier's own products, whatever their status: what it may change through the
    tenancy gate (another supplier's product is simply not found)."""
    return changeable(select(Product), Product, supplier_id)


async def own_products_page(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    before: TimeKeyset | None,
    limit: int,
    status: str | None,
) -> list[Product]:
    """A page of the supplier's products, newest first (`ix_products_supplier_created`),
    after the keyset `before` of the last one served."""
    statement = supplier_products(supplier_id)
    if status is not None:
        statement = statement.where(Product.status == status)
    # populate_existing: the version and stock as stored now, not as an earlier
    # statement of this session loaded them.
    rows = await session.execute(
        keyset(statement, (Product.created_at, Product.id), before, limit).execution_options(
            populate_existing=True
        )
    )
    return list(rows.scalars())


async def own_products_by_sku(
    session: AsyncSession, supplier_id: uuid.UUID, status: str, limit: int
) -> list[Product]:
    """The supplier's first `limit` products in `status`, in SKU order (the unique
    `(supplier_id, sku)` index)."""
    statement = supplier_products(supplier_id).where(Product.status == status)
    rows = await session.execute(statement.order_by(Product.sku).limit(limit))
    return list(rows.scalars())


async def supplier_product_ids(session: AsyncSession, supplier_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(changeable(select(Product.id), Product, supplier_id))
    return list(rows.scalars())


async def supplier_product(
    session: AsyncSession, supplier_id: uuid.UUID, product_id: uuid.UUID, *, lock: bool = False
) -> Product | None:
    statement = supplier_products(supplier_id).where(Product.id == product_id)
    if lock:
        # The locked row as it is now, not a copy the session loaded earlier: a write
        # compares against it (and announces its values as "before").
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def supplier_product_by_sku(
    session: AsyncSession, supplier_id: uuid.UUID, sku: str, *, lock: bool = False
) -> Product | None:
    statement = supplier_products(supplier_id).where(Product.sku == sku)
    if lock:
        # The locked row as it is now, not a copy the session loaded earlier: a write
        # compares against it (and announces its values as "before").
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_supplier_products(
    session: AsyncSession, supplier_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Product]:
    """Lock several of a supplier's products in id order (a fixed order: no deadlock)."""
    rows = await session.execute(
        supplier_products(supplier_id)
        .where(Product.id.in_(sorted(set(product_ids))))
        .order_by(Product.id)
        .with_for_update()
    )
    return {product.id: product for product in rows.scalars()}


async def has_variants(
    session: AsyncSession, supplier_id: uuid.UUID, product_id: uuid.UUID
) -> bool:
    statement = changeable(select(Product.id), Product, supplier_id)
    found = await session.scalar(statement.where(Product.parent_id == product_id).limit(1))
    return found is not None


async def family_ids(session: AsyncSession, product_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The products and every member of their families (head and variants)."""
    if not product_ids:
        return set()
    ids = set(product_ids)
    reason = "ids only, of products just changed: whose cache entries to delete"
    heads = unscoped(select(func.coalesce(Product.parent_id, Product.id)), reason=reason).where(
        Product.id.in_(ids)
    )
    rows = await session.execute(
        unscoped(select(Product.id), reason=reason).where(
            or_(Product.id.in_(heads), Product.parent_id.in_(heads))
        )
    )
    ids.update(rows.scalars())
    return ids


async def replace_tiers(
    session: AsyncSession, product_id: uuid.UUID, tiers: Sequence[Tier]
) -> None:
    await session.execute(delete(PriceTier).where(PriceTier.product_id == product_id))
    if tiers:
        await session.execute(
            insert(PriceTier),
            [
                {"product_id": product_id, "min_qty": tier.min_qty, "unit_price": tier.unit_price}
                for tier in tiers
            ],
        )


@dataclass(frozen=True)
class ImageRow:
    """A product image as a detail shows it (the columns `service.image_read` reads)."""

    id: uuid.UUID
    product_id: uuid.UUID
    position: int
    alt_text: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ProductRow:
    product: Product
    supplier: Company
    category: Category | None
    is_visible: bool  # to anyone: `visible_condition()`, evaluated by the query
    # The other members of the product's family (its head and its siblings, or its
    # variants when it is the head), head first then by SKU, each with whether anyone
    # may see it.
    family: tuple[tuple[Product, bool], ...] = ()
    # The product's price tiers (ascending) and images (by position), read with it.
    tiers: tuple[Tier, ...] = ()
    images: tuple[ImageRow, ...] = ()


def _detail_tiers() -> ColumnElement[Any]:
    """The product's tiers as [[min_qty, unit_price], ...] ascending."""
    pairs = func.array_agg(
        aggregate_order_by(
            postgresql.array([PriceTier.min_qty, PriceTier.unit_price]), PriceTier.min_qty
        )
    )
    subquery = (
        select(pairs).where(PriceTier.product_id == Product.id).correlate(Product).scalar_subquery()
    )
    return type_coerce(subquery, ARRAY(Numeric(asdecimal=True), dimensions=2))


def _detail_images() -> ColumnElement[Any]:
    """The product's images in their order, as JSON objects of `ImageRow`'s fields."""
    image = func.json_build_object(
        "id", ProductImage.id,
        "position", ProductImage.position,
        "alt_text", ProductImage.alt_text,
        "content_type", ProductImage.content_type,
        "width", ProductImage.width,
        "height", ProductImage.height,
    )  # fmt: skip
    subquery = (
        select(
            func.json_agg(
                aggregate_order_by(
                    image, ProductImage.position, ProductImage.created_at, ProductImage.id
                )
            )
        )
        .where(ProductImage.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )
    return type_coerce(subquery, JSON)


def _product_with_family() -> EntityQuery:
    """The product (`:product_id`) and the other members of its family, with their
    supplier and category and whether anyone may see them; head first, then by SKU.
    The product's own row also carries its tiers and images (NULL on the family's rows:
    a subquery in a CASE branch runs only for the rows that reach it), which were two
    statements more per uncached detail."""
    product_id = bindparam("product_id", type_=Uuid)
    target = aliased(Product)
    head = (
        select(func.coalesce(target.parent_id, target.id))
        .where(target.id == product_id)
        .scalar_subquery()
    )
    own_row = Product.id == product_id

    def build(columns: Select[Any]) -> Select[Any]:
        statement = unscoped(
            columns,
            reason="built once at import; product_row applies the gate to the row it finds",
        )
        return (
            statement.select_from(Product)
            .join(Company, Company.id == Product.supplier_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(or_(Product.id == product_id, Product.id == head, Product.parent_id == head))
            .order_by(Product.id != head, Product.sku)
        )

    return EntityQuery(
        (Product, Company, Category),
        build,
        extra=(
            visible_condition(),
            case((own_row, _detail_tiers())),
            case((own_row, _detail_images())),
        ),
    )


# Built once: an uncached detail read `products` twice (the product's row, then its
# family), 6 statements a request. One statement does both now, and, built once, costs
# no statement construction or cache key per request (SQLAlchemy keeps a built
# statement's key): building this statement per request cost about 3 ms of CPU, the
# two statements before it about 1.5 ms (bench/README.md, "Changes and their measured
# effect"). On the driver (`core/driver.py`), its rows handed back as the session's
# instances: the ORM's execution and loading of three entities per row was 80% of the
# handler's CPU on an uncached detail (py-spy; "Changes and their measured effect", 10).
_PRODUCT_WITH_FAMILY = _product_with_family()


async def product_row(
    session: AsyncSession, product_id: uuid.UUID, who: Viewer | uuid.UUID, *, own: bool = False
) -> ProductRow | None:
    """The product with its supplier, category and family, if `who` may read it:
    visible to anyone, or its supplier's (with `own`, only its supplier's: what it may
    change); staff see every product (moderation). `_PRODUCT_WITH_FAMILY` reads them
    all in one statement built once, so the gate's rule is applied to the row found
    (`may_read`, `may_change`) rather than to the statement."""
    rows = await _PRODUCT_WITH_FAMILY.fetch(session, product_id=product_id)
    found = next((row for row in rows if row[0].id == product_id), None)
    if found is None:
        return None
    product, is_visible = found[0], bool(found[3])
    if own:
        assert isinstance(who, uuid.UUID)
        allowed = may_change(product, who)
    elif isinstance(who, Viewer) and who.is_staff:
        allowed = True  # staff see every product, whoever they act for
    else:
        allowed = may_read(product, who, shared=is_visible)
    if not allowed:
        return None
    return ProductRow(
        product=product,
        supplier=found[1],
        category=found[2],
        is_visible=is_visible,
        family=tuple((row[0], row[3]) for row in rows if row[0].id != product_id),
        tiers=tuple(Tier(min_qty, unit_price) for min_qty, unit_price in found[4] or ()),
        images=tuple(
            ImageRow(
                id=uuid.UUID(image["id"]),
                product_id=product_id,
                position=image["position"],
                alt_text=image["alt_text"],
                content_type=image["content_type"],
                width=image["width"],
                height=image["height"],
            )
            for image in found[5] or ()
        ),
    )


async def set_blocked(
    session: AsyncSession, product_id: uuid.UUID, *, blocked: bool, reason: str | None
) -> Product | None:
    moderation = "staff moderation blocks any supplier's product"
    row = await session.execute(
        unscoped(update(Product), reason=moderation)
        .where(Product.id == product_id)
        .values(is_blocked=blocked, blocked_reason=reason, updated_at=func.now())
        .returning(Product)
    )
    return row.scalar_one_or_none()


# --- images -----------------------------------------------------------------------


async def image_of(
    session: AsyncSession, product_id: uuid.UUID, image_id: uuid.UUID
) -> ProductImage | None:
    return (
        await session.execute(
            select(ProductImage).where(
                ProductImage.id == image_id, ProductImage.product_id == product_id
            )
        )
    ).scalar_one_or_none()


async def products_without_images(
    session: AsyncSession, supplier_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, str]]:
    """The id, name and category slug of the supplier's products that are filed under a
    category and have no image yet, in SKU order."""
    has_image = select(ProductImage.product_id)
    rows = await session.execute(
        readable(select(Product.id, Product.name, Category.slug), Product, supplier_id)
        .join(Category, Category.id == Product.category_id)
        .where(Product.id.not_in(has_image))
        .order_by(Product.sku)
    )
    return [(product_id, name, slug) for product_id, name, slug in rows]


async def insert_images(session: AsyncSession, images: Sequence[dict[str, Any]]) -> None:
    """Bulk insert of new image rows (one statement, as multi-row VALUES): for loading
    data sets, with no ORM bookkeeping for rows nobody reads back."""
    if images:
        await session.execute(insert(ProductImage), images)


async def count_images(session: AsyncSession, product_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ProductImage)
            .where(ProductImage.product_id == product_id)
        )
        or 0
    )


# --- stock: what trade reads and writes (catalog.stock is its interface) ---------------

_PRODUCT_IDS = bindparam("product_ids", type_=postgresql.ARRAY(Uuid))
# The visible products among `product_ids`, each with its tiers (ascending) and its
# supplier's name (joined already by `visible_products`: an order's answer and a cart
# show it, and need no query of their own for it).
_ORDERABLE_SELECT = (
    visible_products()
    .with_only_columns(
        Product.id,
        Product.supplier_id,
        Company.name.label("supplier_name"),
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
_ORDERABLE = DriverStatement(_ORDERABLE_SELECT)


# The same with the buyer's price for each product in the same statement: the tiers of
# its best price list (`buyer_price_list_rows`, reduced as `choose_price_lists` does:
# the first list by priority, then id; its tiers ascending). One round trip instead of
# two on every order, cart change and checkout (bench/README.md, "order placement").
_BUYER_LISTS = buyer_price_list_rows(bindparam("buyer_id", type_=Uuid), _PRODUCT_IDS).cte(
    "buyer_lists"
)


def _best_list(product_id: Any) -> Any:
    """The id of the product's best list among the buyer's (a scalar subquery)."""
    lists = _BUYER_LISTS.alias()
    return (
        select(lists.c.id)
        .where(lists.c.product_id == product_id)
        .order_by(lists.c.priority.desc(), lists.c.id)
        .limit(1)
        .scalar_subquery()
    )


_ORDERABLE_FOR_BUYER = DriverStatement(
    _ORDERABLE_SELECT.add_columns(
        _best_list(Product.id).label("price_list_id"),
        select(
            func.array_agg(
                postgresql.aggregate_order_by(
                    postgresql.array([_BUYER_LISTS.c.min_qty, _BUYER_LISTS.c.unit_price]),
                    _BUYER_LISTS.c.min_qty,
                )
            )
        )
        .where(
            _BUYER_LISTS.c.product_id == Product.id,
            _BUYER_LISTS.c.id == _best_list(_BUYER_LISTS.c.product_id),
        )
        # The outer product, already through the gate (`visible_products`).
        .correlate(Product)
        .scalar_subquery()
        .label("price_list_tiers"),
    ).add_cte(_BUYER_LISTS)
)


async def orderable_rows(
    session: AsyncSession, product_ids: Sequence[uuid.UUID], buyer_id: uuid.UUID | None = None
) -> list[asyncpg.Record]:
    """The visible products among `product_ids`, each with its tiers (ascending), on the
    driver (see core.driver): the first read of every order. With `buyer_id`, each row
    also has the buyer's best price list for it (`price_list_id`, NULL when none) and
    that list's tiers (`price_list_tiers`, ascending)."""
    if buyer_id is not None:
        return await _ORDERABLE_FOR_BUYER.fetch(
            session, product_ids=list(product_ids), buyer_id=buyer_id
        )
    return await _ORDERABLE.fetch(session, product_ids=list(product_ids))


# Through the driver: the last statements of every order, on the hottest rows. Stock
# moves with orders: a buyer's order takes the stock of products it found orderable
# (`visible_products()`), which belong to its suppliers; trade is the only caller.
_ORDERS = "stock moves with orders, on products found orderable through the gate"
_QUANTITY = bindparam("quantity", type_=Product.__table__.c.stock.type)
_PRODUCT_ID = bindparam("product_id", type_=Uuid)
_TAKE_STOCK = DriverStatement(
    unscoped(update(Product), reason=_ORDERS)
    .where(Product.id == _PRODUCT_ID, Product.stock >= _QUANTITY)
    .values(stock=Product.stock - _QUANTITY, updated_at=func.now())
    .returning(Product.stock, Product.moq)
)
_GIVE_BACK_STOCK = DriverStatement(
    unscoped(update(Product), reason=_ORDERS)
    .where(Product.id == _PRODUCT_ID)
    .values(stock=Product.stock + _QUANTITY, updated_at=func.now())
    .returning(Product.stock, Product.moq)
)
_STOCK_OF = DriverStatement(
    unscoped(select(Product.id, Product.stock), reason=_ORDERS).where(
        Product.id == any_(_PRODUCT_IDS)
    )
)


async def take_stock(
    session: AsyncSession, product_id: uuid.UUID, quantity: Decimal
) -> asyncpg.Record | None:
    """Take `quantity` of the product's stock if it has that much (one conditional
    UPDATE, backed by the `stock >= 0` CHECK): its stock and MOQ after, else None."""
    return await _TAKE_STOCK.fetchrow(session, product_id=product_id, quantity=quantity)


async def give_back_stock(
    session: AsyncSession, product_id: uuid.UUID, quantity: Decimal
) -> asyncpg.Record | None:
    """Give `quantity` back to the product's stock: its stock and MOQ after."""
    return await _GIVE_BACK_STOCK.fetchrow(session, product_id=product_id, quantity=quantity)


async def stock_of(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Decimal]:
    rows = await _STOCK_OF.fetch(session, product_ids=list(product_ids))
    return {row["id"]: row["stock"] for row in rows}
