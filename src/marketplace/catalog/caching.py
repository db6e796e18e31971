"""Shared cache entries of the catalog's hot public reads, and their invalidation.

Cached: the public part of a product's detail, the category tree, the pages and
facets of public searches (catalog.search), and per buyer and product the price list
that prices it for that buyer (`buyer_price_key`), so that a signed-in buyer's detail
is served from the cache too, its price computed from the cached list.
Every write that changes what an entry shows (a product write, an import, an order
taking stock or a cancellation giving it back) deletes it explicitly, twice: at once
(so that the writer reads its own write) and again after the transaction commits,
because a reader that loaded the old row between the first delete and the commit may
have put it back. A time-to-live bounds what neither can
see (a supplier's verification or profile changing in the companies domain).

A cache that is down never fails a read (it is served from the database) nor a
write (the entry expires by its time-to-live); both are logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import repository
from marketplace.core import cache as core_cache
from marketplace.core.cache import CACHE_ERRORS, Cache
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

PRODUCT_DETAIL_TTL_SECONDS: Final = 300.0
CATEGORY_TREE_TTL_SECONDS: Final = 3600.0
CATEGORY_TREE_KEY: Final = "catalog:categories:v1"
# Part of every cached search page's and facet set's key (catalog.search.service):
# deleting it retires them all at once.
SEARCH_GENERATION_KEY: Final = "catalog:search:generation"
# Every buyer's cached price list choice (`buyer_price_key`) names the generation it
# was read in; deleting this key (any change to a price list, its tiers, its
# assignments or a buyer group) retires them all at once.
PRICING_GENERATION_KEY: Final = "catalog:pricing:generation"
BUYER_PRICES_TTL_SECONDS: Final = 300.0


def product_key(product_id: uuid.UUID) -> str:
    # v2: the detail carries `version`; entries written before it would fail to parse.
    return f"catalog:product:v2:{product_id}"


def buyer_price_key(buyer_id: uuid.UUID, product_id: uuid.UUID) -> str:
    """The price list that prices the product for this buyer (or none): per buyer, so
    one buyer's entry is never another's."""
    # v2: the entry holds a map of products (`price_lists.service.buyer_price_lists`).
    return f"catalog:buyer-price:v2:{buyer_id}:{product_id}"


def buyer_page_prices_key(buyer_id: uuid.UUID, page_key: str) -> str:
    """The price lists that price the products of a cached search page (`page_key`, which
    names the search generation: a page's products change only with it) for this buyer."""
    return f"catalog:buyer-page-prices:v1:{buyer_id}:{page_key}"


async def read_many(cache: Cache, *keys: str) -> list[bytes | None]:
    """Several entries in one round trip; all None when the cache is unavailable."""
    try:
        return await cache.get_many(*keys)
    except CACHE_ERRORS as error:
        logger.warning("catalog.cache.read_failed", key=keys[0], error=repr(error))
        return [None] * len(keys)


async def read(cache: Cache, key: str) -> bytes | None:
    try:
        return await cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("catalog.cache.read_failed", key=key, error=repr(error))
        return None


async def store(cache: Cache, key: str, value: bytes, ttl_seconds: float) -> None:
    try:
        await cache.set(key, value, ttl_seconds)
    except CACHE_ERRORS as error:
        logger.warning("catalog.cache.write_failed", key=key, error=repr(error))


async def invalidate(session: AsyncSession, cache: Cache, keys: Iterable[str]) -> None:
    """Delete the entries now and again once the session's transaction commits."""
    await core_cache.invalidate(session, cache, keys)


async def drain() -> None:
    """Wait for the deletions scheduled after commits (tests, shutdown)."""
    await core_cache.drain()


async def invalidate_products(
    session: AsyncSession, cache: Cache, product_ids: Iterable[uuid.UUID]
) -> None:
    """The products' entries and those of their families (a product's detail lists
    the other members of its family), and every cached search result."""
    ids = await repository.family_ids(session, list(set(product_ids)))
    keys = [product_key(product_id) for product_id in ids]
    await invalidate(session, cache, [*keys, SEARCH_GENERATION_KEY])


async def invalidate_stock(
    session: AsyncSession, cache: Cache, product_ids: Iterable[uuid.UUID]
) -> None:
    """The products' own entries after a change of their stock alone (orders reserve it,
    cancellations release it): their families' entries and search results show no
    quantity. Search results show whether a product is in stock; `invalidate_search`
    retires them when that changed (at every order it would empty the search cache)."""
    await invalidate(session, cache, [product_key(product_id) for product_id in product_ids])


async def invalidate_search(session: AsyncSession, cache: Cache) -> None:
    """Every cached search page and facet set."""
    await invalidate(session, cache, [SEARCH_GENERATION_KEY])


async def invalidate_supplier(session: AsyncSession, cache: Cache, supplier_id: uuid.UUID) -> None:
    """Every product of the supplier (its profile or verification changed; families
    never span suppliers, so no expansion is needed), and every cached search result."""
    product_ids = await repository.supplier_product_ids(session, supplier_id)
    keys = [product_key(product_id) for product_id in product_ids]
    await invalidate(session, cache, [*keys, SEARCH_GENERATION_KEY])


async def invalidate_pricing(session: AsyncSession, cache: Cache) -> None:
    """Every buyer's cached price list choice (a list, its tiers or assignments, or a
    buyer group changed)."""
    await invalidate(session, cache, [PRICING_GENERATION_KEY])


async def invalidate_category_tree(session: AsyncSession, cache: Cache) -> None:
    """The tree, and search results (category filters and facets follow the tree)."""
    await invalidate(session, cache, [CATEGORY_TREE_KEY, SEARCH_GENERATION_KEY])
