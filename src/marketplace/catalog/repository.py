"""Queries of the catalog domain shared by products, search and imports.

Visibility and buyer price lists each have exactly one definition here; every
public read goes through `visible_products()`, every buyer price through
`price_lists_for_buyer()`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from marketplace.catalog.models import (
    BuyerGroup,
    BuyerGroupMember,
    Category,
    PriceList,
    PriceListAssignment,
    PriceListTier,
    PriceTier,
    Product,
    ProductImage,
)
from marketplace.catalog.pricing import PriceListTiers, Tier
from marketplace.companies.models import Company
from marketplace.core.access import ANONYMOUS, Viewer
from marketplace.core.pagination import TimeKeyset
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
    rows = await session.execute(
        buyer_price_list_rows(
            literal(buyer_id, Uuid),
            literal(list(product_ids), postgresql.ARRAY(Uuid)),
        )
    )
    return choose_price_lists(rows)


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
    if before is not None:
        statement = statement.where(tuple_(Product.created_at, Product.id) < tuple_(*before))
    if status is not None:
        statement = statement.where(Product.status == status)
    # populate_existing: the version and stock as stored now, not as an earlier
    # statement of this session loaded them.
    rows = await session.execute(
        statement.order_by(Product.created_at.desc(), Product.id.desc())
        .limit(limit)
        .execution_options(populate_existing=True)
    )
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
class ProductRow:
    product: Product
    supplier: Company
    category: Category | None
    is_visible: bool  # to anyone: `visible_condition()`, evaluated by the query
    # The other members of the product's family (its head and its siblings, or its
    # variants when it is the head), head first then by SKU, each with whether anyone
    # may see it.
    family: tuple[tuple[Product, bool], ...] = ()


def _product_with_family() -> Select[Product, Company, Category, bool]:
    """The product (`:product_id`) and the other members of its family, with their
    supplier and category and whether anyone may see them; head first, then by SKU."""
    product_id = bindparam("product_id", type_=Uuid)
    target = aliased(Product)
    head = (
        select(func.coalesce(target.parent_id, target.id))
        .where(target.id == product_id)
        .scalar_subquery()
    )
    statement = unscoped(
        select(Product, Company, Category, visible_condition().label("is_visible")),
        reason="built once at import; product_row applies the gate to the row it finds",
    )
    return (
        statement.join(Company, Company.id == Product.supplier_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(or_(Product.id == product_id, Product.id == head, Product.parent_id == head))
        .order_by(Product.id != head, Product.sku)
    )


# Built once: an uncached detail read `products` twice (the product's row, then its
# family), 6 statements a request. One statement does both now, and, built once, costs
# no statement construction or cache key per request (SQLAlchemy keeps a built
# statement's key): building this statement per request cost about 3 ms of CPU, the
# two statements before it about 1.5 ms (bench/README.md, "Changes and their measured
# effect").
_PRODUCT_WITH_FAMILY = _product_with_family()


async def product_row(
    session: AsyncSession, product_id: uuid.UUID, who: Viewer | uuid.UUID, *, own: bool = False
) -> ProductRow | None:
    """The product with its supplier, category and family, if `who` may read it:
    visible to anyone, or its supplier's (with `own`, only its supplier's: what it may
    change); staff see every product (moderation). `_PRODUCT_WITH_FAMILY` reads them
    all in one statement built once, so the gate's rule is applied to the row found
    (`may_read`, `may_change`) rather than to the statement."""
    rows = (await session.execute(_PRODUCT_WITH_FAMILY, {"product_id": product_id})).all()
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
    )


# Built once, as `_PRODUCT_WITH_FAMILY`: every uncached detail runs it.
_IMAGES_OF = (
    select(ProductImage)
    .where(ProductImage.product_id == bindparam("product_id", type_=Uuid))
    .order_by(ProductImage.position, ProductImage.created_at, ProductImage.id)
)


async def images_of(session: AsyncSession, product_id: uuid.UUID) -> list[ProductImage]:
    rows = await session.execute(_IMAGES_OF, {"product_id": product_id})
    return list(rows.scalars())


async def product_ids_in_categories(
    session: AsyncSession, category_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    if not category_ids:
        return []
    reason = "staff editing the category tree: ids of the products to re-index"
    statement = unscoped(select(Product.id), reason=reason)
    rows = await session.execute(statement.where(Product.category_id.in_(category_ids)))
    return list(rows.scalars())


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


async def count_images(session: AsyncSession, product_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ProductImage)
            .where(ProductImage.product_id == product_id)
        )
        or 0
    )


# --- categories -------------------------------------------------------------------


async def all_categories(session: AsyncSession) -> list[Category]:
    rows = await session.execute(select(Category).order_by(Category.position, Category.name))
    return list(rows.scalars())


async def category_by_ref(
    session: AsyncSession, ref: str, *, lock: bool = False
) -> Category | None:
    """A category named by its slug or its id."""
    try:
        condition = Category.id == uuid.UUID(ref)
    except ValueError:
        condition = Category.slug == ref
    statement = select(Category).where(condition)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def categories_by_path_prefix(
    session: AsyncSession, path: str, *, lock: bool = False
) -> list[Category]:
    """The category at `path` and all its descendants."""
    statement = (
        select(Category)
        .where(or_(Category.path == path, Category.path.startswith(path + "/", autoescape=True)))
        .order_by(Category.path)
    )
    if lock:
        statement = statement.with_for_update()
    return list((await session.execute(statement)).scalars())


async def category_has_children(session: AsyncSession, category_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Category.id).where(Category.parent_id == category_id).limit(1)
    )
    return found is not None


async def category_has_products(session: AsyncSession, category_id: uuid.UUID) -> bool:
    reason = "staff deleting a category: whether any product is filed under it"
    statement = unscoped(select(Product.id), reason=reason)
    found = await session.scalar(statement.where(Product.category_id == category_id).limit(1))
    return found is not None


async def ancestors_of(session: AsyncSession, category: Category) -> list[Category]:
    parts = category.path.split("/")
    paths = ["/".join(parts[:depth]) for depth in range(1, len(parts))]
    if not paths:
        return []
    rows = await session.execute(select(Category).where(Category.path.in_(paths)))
    by_path = {found.path: found for found in rows.scalars()}
    return [by_path[path] for path in paths if path in by_path]


async def children_of(session: AsyncSession, category_id: uuid.UUID) -> list[Category]:
    rows = await session.execute(
        select(Category)
        .where(Category.parent_id == category_id)
        .order_by(Category.position, Category.name)
    )
    return list(rows.scalars())


# --- buyer groups -----------------------------------------------------------------


async def buyer_groups(
    session: AsyncSession, supplier_id: uuid.UUID, *, after_name: str | None, limit: int
) -> list[tuple[BuyerGroup, list[uuid.UUID]]]:
    """Up to `limit` groups by name (unique per supplier), after `after_name`."""
    statement = readable(select(BuyerGroup), BuyerGroup, supplier_id)
    if after_name is not None:
        statement = statement.where(BuyerGroup.name > after_name)
    groups = list(
        (await session.execute(statement.order_by(BuyerGroup.name).limit(limit))).scalars()
    )
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
    statement = readable(select(PriceList), PriceList, supplier_id)
    if after is not None:
        priority, name = after
        statement = statement.where(
            or_(
                PriceList.priority < priority,
                and_(PriceList.priority == priority, PriceList.name > name),
            )
        )
    rows = await session.execute(
        statement.order_by(PriceList.priority.desc(), PriceList.name).limit(limit)
    )
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
