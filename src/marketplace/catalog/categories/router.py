"""Category HTTP routes: the public tree and a category, and staff editing the tree."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from marketplace.catalog.categories import service
from marketplace.catalog.categories.schemas import (
    CategoryCreate,
    CategoryDetail,
    CategoryRead,
    CategoryTree,
    CategoryUpdate,
)
from marketplace.core.cache import Cache
from marketplace.core.deps import CacheDep, ReadSessionDep, SessionDep
from marketplace.core.middleware.public_cache import CachedRead, route_of
from marketplace.core.openapi import problems
from marketplace.core.text import Text
from marketplace.identity.deps import CurrentStaff

categories_router = APIRouter(prefix="/categories", tags=["catalog"])
admin_categories_router = APIRouter(prefix="/admin/categories", tags=["admin"])

JSON = "application/json"


def cached_public_reads(api_prefix: str) -> list[CachedRead]:
    """The anonymous read answered from the cache before routing: the category tree,
    with the same bytes `category_tree` sends. The route reads no query parameters, so
    neither does the lookup."""
    return [
        CachedRead(
            route=route_of(categories_router, category_tree),
            pattern=re.compile(re.escape(f"{api_prefix}{categories_router.prefix}")),
            lookup=_cached_category_tree,
        ),
    ]


async def _cached_category_tree(cache: Cache, match: re.Match[str], query: bytes) -> bytes | None:
    return await service.cached_tree(cache)


# A category in a path: its slug or its id.
CategoryRefPath = Annotated[Text, Path(max_length=100)]


@categories_router.get("", response_model=CategoryTree)
async def category_tree(session: SessionDep, cache: CacheDep) -> Response:
    """The whole category tree, top-level categories first, each with its children."""
    return Response(content=await service.tree(session, cache), media_type=JSON)


@categories_router.get("/{ref}", response_model=CategoryDetail)
async def get_category(ref: CategoryRefPath, session: ReadSessionDep) -> CategoryDetail:
    """A category by slug (or id), with its ancestors and direct children."""
    return await service.detail(session, ref)


@admin_categories_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryRead,
    responses=problems(404, 409),
)
async def create_category(
    body: CategoryCreate, staff: CurrentStaff, session: SessionDep, cache: CacheDep
) -> CategoryRead:
    """Add a category (staff); `parent` is a slug or id, none for a top-level one."""
    return await service.create(session, cache, staff.user.id, body)


@admin_categories_router.patch("/{ref}", response_model=CategoryRead, responses=problems(409))
async def update_category(
    ref: CategoryRefPath,
    body: CategoryUpdate,
    staff: CurrentStaff,
    session: SessionDep,
    cache: CacheDep,
) -> CategoryRead:
    """Rename, re-slug, reorder or move a category (staff); its descendants move along."""
    return await service.update_category(session, cache, staff.user.id, ref, body)


@admin_categories_router.delete(
    "/{ref}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(409)
)
async def delete_category(
    ref: CategoryRefPath, staff: CurrentStaff, session: SessionDep, cache: CacheDep
) -> None:
    """Delete an empty category (staff): 409 while it has sub-categories or products."""
    await service.delete_category(session, cache, staff.user.id, ref)
