"""Business rules of the category tree (staff-managed), and its cached public read.

A category's `path` is the slug path from its root ("industrial-supplies/fasteners"),
so that descendants are found by prefix; moving or renaming a category rewrites the
paths of its whole subtree in one statement, under row locks.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.catalog.categories import events, repository
from marketplace.catalog.categories.errors import (
    CategoryCycle,
    CategoryInUse,
    CategoryNotFound,
    DuplicateCategorySlug,
    UnknownParentCategory,
)
from marketplace.catalog.categories.models import Category
from marketplace.catalog.categories.schemas import (
    CategoryCreate,
    CategoryDetail,
    CategoryNode,
    CategoryRead,
    CategoryTree,
    CategoryUpdate,
)
from marketplace.core.cache import Cache
from marketplace.core.events import emit
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

# Slugs are unique across the tree, so a taken path is a taken slug too; PostgreSQL
# reports whichever of the two it checks first (the path, for a root category).
_SLUG_CONSTRAINTS = ("uq_categories_slug", "uq_categories_path")


def category_read(category: Category) -> CategoryRead:
    return CategoryRead(
        id=category.id,
        slug=category.slug,
        name=category.name,
        parent_id=category.parent_id,
        position=category.position,
        path=category.path,
    )


def build_tree(categories: list[Category]) -> CategoryTree:
    """Nest the categories (already ordered by position, then name)."""
    nodes = {
        category.id: CategoryNode(**category_read(category).model_dump()) for category in categories
    }
    roots: list[CategoryNode] = []
    for category in categories:
        node = nodes[category.id]
        parent = nodes.get(category.parent_id) if category.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    return CategoryTree(items=roots)


async def cached_tree(cache: Cache) -> bytes | None:
    """The shared entry of the tree, or None (not cached, or the cache is unavailable)."""
    return await caching.read(cache, caching.CATEGORY_TREE_KEY)


async def tree(session: AsyncSession, cache: Cache) -> bytes:
    """The whole tree as JSON, from the shared cache when it holds it."""
    cached = await cached_tree(cache)
    if cached is not None:
        return cached
    encoded = build_tree(await repository.all_categories(session)).model_dump_json().encode()
    await caching.store(
        cache, caching.CATEGORY_TREE_KEY, encoded, caching.CATEGORY_TREE_TTL_SECONDS
    )
    return encoded


async def leaf_slugs_by_top_level(session: AsyncSession) -> dict[str, list[str]]:
    """The slugs of the leaf categories (those without sub-categories), by the slug of
    their top-level ancestor, each list in path order."""
    categories = await repository.all_categories(session)
    parents = {category.parent_id for category in categories}
    leaves: dict[str, list[str]] = {}
    for category in sorted(categories, key=lambda found: found.path):
        if category.id not in parents:
            leaves.setdefault(category.path.split("/")[0], []).append(category.slug)
    return leaves


async def _get(session: AsyncSession, ref: str, *, lock: bool = False) -> Category:
    category = await repository.category_by_ref(session, ref, lock=lock)
    if category is None:
        raise CategoryNotFound()
    return category


async def _parent(session: AsyncSession, ref: str) -> Category:
    parent = await repository.category_by_ref(session, ref, lock=True)
    if parent is None:
        raise UnknownParentCategory(
            parent=ref,
            errors=[
                {
                    "loc": ["body", "parent"],
                    "msg": f"there is no category {ref!r}",
                    "type": "value_error",
                }
            ],
        )
    return parent


async def detail(session: AsyncSession, ref: str) -> CategoryDetail:
    category = await _get(session, ref)
    ancestors = await repository.ancestors_of(session, category)
    children = await repository.children_of(session, category.id)
    return CategoryDetail(
        **category_read(category).model_dump(),
        ancestors=[category_read(found) for found in ancestors],
        children=[category_read(found) for found in children],
    )


async def create(
    session: AsyncSession, cache: Cache, staff_user_id: uuid.UUID, data: CategoryCreate
) -> CategoryRead:
    parent = await _parent(session, data.parent) if data.parent else None
    category = Category(
        id=uuid.uuid4(),
        slug=data.slug,
        name=data.name,
        parent_id=parent.id if parent else None,
        position=data.position,
        path=f"{parent.path}/{data.slug}" if parent else data.slug,
    )
    async with repository.unique_or(
        session, _SLUG_CONSTRAINTS, DuplicateCategorySlug(slug=data.slug)
    ):
        await repository.add(session, category)
    await emit(
        session,
        events.CategoryCreated(
            category_id=category.id, slug=category.slug, path=category.path, name=category.name
        ),
    )
    await caching.invalidate_category_tree(session, cache)
    logger.info("catalog.category.created", slug=data.slug, staff_user_id=str(staff_user_id))
    return category_read(category)


async def update_category(
    session: AsyncSession,
    cache: Cache,
    staff_user_id: uuid.UUID,
    ref: str,
    data: CategoryUpdate,
) -> CategoryRead:
    """Rename, re-slug, reorder or move a category; moving or re-slugging rewrites the
    paths of its descendants. Products keep their category."""
    category = await _get(session, ref, lock=True)
    fields = data.model_fields_set
    new_parent_id = category.parent_id
    parent_path: str | None = category.path.rpartition("/")[0] or None
    if "parent" in fields:
        if data.parent is None:
            new_parent_id, parent_path = None, None
        else:
            parent = await _parent(session, data.parent)
            if parent.id == category.id or parent.path.startswith(category.path + "/"):
                raise CategoryCycle()
            new_parent_id, parent_path = parent.id, parent.path
    slug = data.slug if data.slug is not None else category.slug
    old_path = category.path
    new_path = f"{parent_path}/{slug}" if parent_path else slug

    subtree = await repository.categories_by_path_prefix(session, old_path, lock=True)
    if data.name is not None:
        category.name = data.name
    if data.position is not None:
        category.position = data.position
    category.slug = slug
    category.parent_id = new_parent_id
    async with repository.unique_or(session, _SLUG_CONSTRAINTS, DuplicateCategorySlug(slug=slug)):
        await repository.flush(session)
    if new_path != old_path:
        # One statement for the subtree: the category itself and every descendant.
        await repository.move_subtree(session, subtree, old_path, new_path)
    else:
        await session.refresh(category)
    # Products show their category's slug, name and path.
    affected = [found.id for found in subtree] if new_path != old_path else [category.id]
    product_ids = await repository.product_ids_in_categories(session, affected)
    await caching.invalidate_products(session, cache, product_ids)
    await caching.invalidate_category_tree(session, cache)
    await emit(
        session,
        events.CategoryUpdated(
            category_id=category.id,
            slug=category.slug,
            path=category.path,
            old_path=old_path,
            fields=sorted(fields),
        ),
    )
    logger.info(
        "catalog.category.updated",
        slug=slug,
        old_path=old_path,
        new_path=new_path,
        staff_user_id=str(staff_user_id),
    )
    return category_read(category)


async def delete_category(
    session: AsyncSession, cache: Cache, staff_user_id: uuid.UUID, ref: str
) -> None:
    """Only an empty category goes: no sub-categories, no products (409 otherwise)."""
    category = await _get(session, ref, lock=True)
    if await repository.category_has_children(
        session, category.id
    ) or await repository.category_has_products(session, category.id):
        raise CategoryInUse()
    await repository.remove(session, category)
    await emit(
        session,
        events.CategoryDeleted(category_id=category.id, slug=category.slug, path=category.path),
    )
    await caching.invalidate_category_tree(session, cache)
    logger.info("catalog.category.deleted", slug=category.slug, staff_user_id=str(staff_user_id))
