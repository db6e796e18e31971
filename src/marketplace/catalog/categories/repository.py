"""Queries of the category tree; the products filed under a category, by id only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import Product
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.core.repository import remove as remove
from marketplace.core.repository import unique_or as unique_or
from marketplace.core.tenancy import unscoped


async def product_ids_in_categories(
    session: AsyncSession, category_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    if not category_ids:
        return []
    reason = "staff editing the category tree: ids of the products to re-index"
    statement = unscoped(select(Product.id), reason=reason)
    rows = await session.execute(statement.where(Product.category_id.in_(category_ids)))
    return list(rows.scalars())


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


async def move_subtree(
    session: AsyncSession, subtree: Sequence[Category], old_path: str, new_path: str
) -> None:
    """Rewrite the paths of `subtree` (a category and every descendant, locked by
    `categories_by_path_prefix`) from `old_path` to `new_path`, in one statement, and
    read them back."""
    await session.execute(
        update(Category)
        .where(Category.id.in_([found.id for found in subtree]))
        .values(
            path=func.concat(new_path, func.substr(Category.path, len(old_path) + 1)),
            updated_at=func.now(),
        )
        .execution_options(synchronize_session=False)
    )
    for found in subtree:
        await session.refresh(found)
