"""Catalog search: turns parameters into a query, pages and facets; caches public results.

Caching and buyer prices: a result page is cached (for
`catalog_search_cache_ttl_seconds`) exactly as an anonymous visitor sees it, plus the
public tiers needed to price it. Later pages too: keyset cursors are the same for every
visitor walking a query's pages, so page 3 of a popular search is as hot as page 1 (and
keeps its keyset semantics: a generation's pages are consistent with each other).
A buyer's price-list prices are never cached: they are
looked up and applied on every request, after the cache, through `price_lists.service.quote()`.
Every entry's key includes the current generation (`caching.SEARCH_GENERATION_KEY`);
deleting that one key retires every cached page and facet set at once. Every product and
category write, and every change of a supplier's profile or verification (catalog
consumer), deletes it through `caching` like the other catalog entries; the time-to-live
bounds anything else.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel
from rapidfuzz.distance import OSA, JaroWinkler
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.catalog.price_lists import repository as price_lists_repository
from marketplace.catalog.price_lists import service as price_lists_service
from marketplace.catalog.price_lists.models import PriceListTiers, Tier
from marketplace.catalog.price_lists.service import BuyerPriceEntry, quote, tier_for
from marketplace.catalog.search import repository
from marketplace.catalog.search.errors import (
    InvalidAttributeFilter,
    InvalidPriceRange,
    UnknownCategory,
)
from marketplace.catalog.search.schemas import (
    CategoryFacet,
    CategorySummary,
    CountryFacet,
    PriceBucketFacet,
    ProductFacets,
    ProductFilters,
    ProductSearchItem,
    ProductSearchPage,
    ProductSearchParams,
    SearchSort,
    SupplierSummary,
)
from marketplace.core.cache import Cache
from marketplace.core.middleware.public_cache import Missed
from marketplace.core.pagination import InvalidCursor, decode_cursor
from marketplace.core.repository import page_of

API_PREFIX = "/api/v1"
MAX_QUERY_TOKENS = 8
MAX_ATTRIBUTE_FILTERS = 10
MAX_ATTRIBUTE_KEY_LENGTH = 64
MAX_ATTRIBUTE_VALUE_LENGTH = 200
# Typo correction: a word of at least this many letters that is no dictionary word, nor
# the start of one, is corrected to the nearest dictionary words in edit distance...
MIN_CORRECTED_LENGTH = 3
# ...within one edit (a transposition counts as one), or two from this many letters.
TWO_TYPOS_FROM = 5
GENERATION_KEY = caching.SEARCH_GENERATION_KEY
# Longer than any entry lives; expiring only retires entries that are gone anyway.
GENERATION_TTL_SECONDS = 86_400.0
PAGE_KEY_PREFIX = "catalog:search:page:"
FACETS_KEY_PREFIX = "catalog:search:facets:"
# Separates the public page from its pricing data in a cache entry (orjson never writes
# a raw newline).
_ENTRY_SEPARATOR = b"\n"

AttributePairs = Sequence[tuple[str, str]]


class CachedPricing(BaseModel):
    """The public tiers of each product on a page: what a buyer's price is computed from."""

    tiers: dict[uuid.UUID, list[tuple[Decimal, Decimal]]]


@dataclass(frozen=True)
class RenderedPage:
    """A page as anonymous visitors see it, already serialised (from the cache or not)."""

    body: bytes


async def invalidate_search_cache(cache: Cache) -> None:
    """Retire every cached search page and facet set at once. Catalog writes do the same
    through `caching.invalidate_products()` / `invalidate_category_tree()`, which delete
    the generation key now and again after their commit."""
    await cache.delete(GENERATION_KEY)


# -- parameters -----------------------------------------------------------------------


def parse_attribute_filters(pairs: AttributePairs) -> dict[str, list[Any]]:
    """`(key, value)` pairs -> key -> accepted JSON values. A value that reads as a number
    or a boolean also matches that JSON type ("10" matches 10, "true" matches true)."""
    if len(pairs) > MAX_ATTRIBUTE_FILTERS:
        raise InvalidAttributeFilter(limit=MAX_ATTRIBUTE_FILTERS)
    attributes: dict[str, list[Any]] = {}
    for key, value in pairs:
        key, value = key.strip(), value.strip()
        if (
            not key
            or not value
            or len(key) > MAX_ATTRIBUTE_KEY_LENGTH
            or len(value) > MAX_ATTRIBUTE_VALUE_LENGTH
        ):
            raise InvalidAttributeFilter(
                limit=MAX_ATTRIBUTE_FILTERS,
                errors=[
                    {
                        "loc": ["query", f"attr.{key}"],
                        "msg": "key and value must be non-empty and short",
                        "type": "value_error",
                    }
                ],
            )
        accepted = attributes.setdefault(key, [])
        for form in _json_forms(value):
            if form not in accepted:
                accepted.append(form)
    return attributes


def _json_forms(value: str) -> list[Any]:
    forms: list[Any] = [value]
    if value in ("true", "false"):
        forms.append(value == "true")
    try:
        number = Decimal(value)
    except InvalidOperation:
        return forms
    if number.is_finite():
        forms.append(int(number) if number == number.to_integral_value() else float(number))
    return forms


def _check_price_range(filters: ProductFilters) -> None:
    if (
        filters.price_min is not None
        and filters.price_max is not None
        and filters.price_min > filters.price_max
    ):
        raise InvalidPriceRange(
            errors=[
                {
                    "loc": ["query", "price_min"],
                    "msg": "price_min is greater than price_max",
                    "type": "value_error",
                }
            ]
        )


def effective_sort(params: ProductSearchParams) -> SearchSort:
    """Relevance needs words to be relevant to: without `q` the default is newest."""
    if params.sort is None or params.sort is SearchSort.RELEVANCE:
        return SearchSort.RELEVANCE if params.q else SearchSort.NEWEST
    return params.sort


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _lexeme(word: str) -> str:
    """A tsquery operand quoted so that no word can change the query's structure."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _letters_changed(word: str, candidate: str) -> int:
    """How many letters one has that the other lacks (the larger side): 0 for a
    transposition, 1 for a substitution."""
    ours, theirs = Counter(word), Counter(candidate)
    return max((ours - theirs).total(), (theirs - ours).total())


def corrections(word: str, candidates: Iterable[str]) -> list[str]:
    """The candidates nearest to `word` in edit distance (optimal string alignment: a
    transposition is one edit), if within its allowance: one edit, two for words of
    `TWO_TYPOS_FROM` letters or more. The likeliest first: fewest letters changed
    (swapped letters, the most common typo, before a changed one), then the most alike
    from the start (Jaro-Winkler). "blot" gives ["bolt", "boot"]; "block", two edits
    away, is left out."""
    allowance = 2 if len(word) >= TWO_TYPOS_FROM else 1
    ranked: dict[str, tuple[int, int, float]] = {}
    for candidate in candidates:
        distance = OSA.distance(word, candidate, score_cutoff=allowance)
        if distance <= allowance:
            ranked[candidate] = (
                distance,
                _letters_changed(word, candidate),
                -JaroWinkler.similarity(word, candidate),
            )
    nearest = min((rank[0] for rank in ranked.values()), default=None)
    return sorted(
        (candidate for candidate, rank in ranked.items() if rank[0] == nearest),
        key=lambda candidate: (ranked[candidate], candidate),
    )


def _any_of(alternatives: Sequence[str]) -> str:
    return "(" + " | ".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0]


async def prepare_text_query(session: AsyncSession, query: str) -> repository.TextQuery:
    """Each word becomes a prefix term ORed with its typo corrections; all words must
    match. Ranked first: the words exactly as typed, then as typed with prefixes, then
    each word's likeliest correction, then the other corrections (`rank_expression`).
    A query without spaces may also be a SKU (exact or prefix, case-insensitive)."""
    groups: list[str] = []
    likeliest: list[str] = []
    as_typed: list[str] = []
    exact: list[str] = []
    corrected = several = False
    words = await repository.correction_candidates(
        session,
        query,
        max_tokens=MAX_QUERY_TOKENS,
        min_length=MIN_CORRECTED_LENGTH,
        two_typos_from=TWO_TYPOS_FROM,
    )
    for token, candidates in words:
        typed = f"{_lexeme(token)}:*"
        terms = [_lexeme(term) for term in corrections(token, candidates)]
        corrected |= bool(terms)
        several |= len(terms) > 1
        groups.append(_any_of([typed, *terms]))
        likeliest.append(_any_of([typed, *terms[:1]]))
        as_typed.append(typed)
        exact.append(_lexeme(token))
    sku_exact = sku_prefix = None
    if len(query) >= 3 and " " not in query:
        sku_exact = _escape_like(query)
        sku_prefix = sku_exact + "%"
    return repository.TextQuery(
        tsquery=" & ".join(groups) or None,
        exact_tsquery=" & ".join(exact) or None,
        strict_tsquery=" & ".join(as_typed) if corrected else None,
        likeliest_tsquery=" & ".join(likeliest) if several else None,
        sku_exact=sku_exact,
        sku_prefix=sku_prefix,
    )


async def build_filters(
    session: AsyncSession, params: ProductFilters, attribute_pairs: AttributePairs
) -> repository.SearchFilters:
    _check_price_range(params)
    attributes = parse_attribute_filters(attribute_pairs)
    category_ids = None
    if params.category is not None:
        category_ids = await repository.category_scope(session, params.category)
        if category_ids is None:
            raise UnknownCategory(slug=params.category)
    text_query = await prepare_text_query(session, params.q) if params.q else None
    return repository.SearchFilters(
        text=text_query,
        category_ids=category_ids,
        supplier_id=params.supplier,
        supplier_country=params.supplier_country,
        currency=params.currency,
        price_min=params.price_min,
        price_max=params.price_max,
        quantity=params.quantity,
        in_stock=params.in_stock,
        attributes=attributes,
    )


# -- cursors --------------------------------------------------------------------------


def _keyset_of(sort: SearchSort) -> Callable[[asyncpg.Record], tuple[Any, ...]]:
    """A result row's cursor: its sort (a cursor serves only the sort that issued it),
    the row's sort value and its id."""
    return lambda row: (sort.value, row["sort_key"], row["id"])


def _decode_keyset(cursor: str, sort: SearchSort) -> repository.Keyset:
    """The cursor names its sort; a cursor of another sort, or a malformed one, is a 400."""
    sort_name, raw_value, raw_id = decode_cursor(cursor, 3)
    if sort_name != sort.value:
        raise InvalidCursor()
    try:
        product_id = uuid.UUID(str(raw_id))
        value: Any
        if sort is SearchSort.RELEVANCE:
            if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
                raise InvalidCursor()
            value = float(raw_value)
            if not math.isfinite(value):
                raise InvalidCursor()
        elif sort is SearchSort.NEWEST:
            value = datetime.fromisoformat(str(raw_value))
            if value.tzinfo is None:
                raise InvalidCursor()
        else:
            value = Decimal(str(raw_value))
            if not value.is_finite():
                raise InvalidCursor()
    except (ValueError, InvalidOperation) as error:
        raise InvalidCursor() from error
    return repository.Keyset(value=value, id=product_id)


# -- prices ---------------------------------------------------------------------------


def priced_quantity(
    requested: Decimal | None, moq: Decimal, order_multiple: Decimal | None
) -> Decimal:
    """The quantity a listing is priced at: the one asked for (else the MOQ), raised to the
    MOQ and rounded up to the pack size; `repository.price_expression` does the same."""
    quantity = max(requested if requested is not None else moq, moq)
    if order_multiple:
        quantity = (quantity / order_multiple).to_integral_value(ROUND_CEILING) * order_multiple
    return quantity


def _public_unit_price(
    quantity: Decimal, item: ProductSearchItem, tiers: Sequence[Tier]
) -> Decimal | None:
    if tier_for(tiers, quantity) is None:
        return None  # no tier applies (no tiers at all): nothing to quote
    return quote(quantity, moq=item.moq, order_multiple=item.order_multiple, tiers=tiers).unit_price


def apply_buyer_prices(
    page: ProductSearchPage,
    pricing: CachedPricing,
    price_lists: dict[uuid.UUID, PriceListTiers],
) -> ProductSearchPage:
    """Set `your_price` where one of the buyer's price lists prices the item at its
    `price_quantity`; the same `quote()` as checkout, so the listing never disagrees."""
    items = []
    for item in page.items:
        price_list = price_lists.get(item.id)
        tiers = [Tier(min_qty, price) for min_qty, price in pricing.tiers.get(item.id, [])]
        your_price = None
        if price_list is not None and (
            tier_for(price_list.tiers, item.price_quantity) is not None
            or tier_for(tiers, item.price_quantity) is not None
        ):
            priced = quote(
                item.price_quantity,
                moq=item.moq,
                order_multiple=item.order_multiple,
                tiers=tiers,
                price_list=price_list,
            )
            if priced.source == "price_list":
                your_price = priced.unit_price
        items.append(item.model_copy(update={"your_price": your_price}))
    return ProductSearchPage(items=items, next_cursor=page.next_cursor)


# -- search ---------------------------------------------------------------------------


def _cache_key(prefix: str, generation: bytes, values: dict[str, Any]) -> str:
    digest = hashlib.sha256(generation + b"|" + orjson.dumps(values, default=str)).hexdigest()
    return prefix + digest[:40]


def _filter_key(params: ProductFilters, attributes: AttributePairs) -> dict[str, Any]:
    return {
        "q": params.q.casefold() if params.q else None,  # matching ignores case throughout
        "category": params.category,
        "supplier": params.supplier,
        "country": params.supplier_country,
        "currency": params.currency,
        "price_min": params.price_min.normalize() if params.price_min is not None else None,
        "price_max": params.price_max.normalize() if params.price_max is not None else None,
        "quantity": params.quantity.normalize() if params.quantity is not None else None,
        "in_stock": params.in_stock,
        "attributes": sorted((key.strip(), value.strip()) for key, value in attributes),
    }


async def _generation(cache: Cache) -> bytes:
    """The current generation of search entries, started afresh after an invalidation.
    (With the cache down every request starts one: nothing is served from it.)"""
    generation = await caching.read(cache, GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex.encode()
        await caching.store(cache, GENERATION_KEY, generation, GENERATION_TTL_SECONDS)
    return generation


def _thumbnail_url(product_id: uuid.UUID, image_id: uuid.UUID | None) -> str | None:
    if image_id is None:
        return None
    return f"{API_PREFIX}/products/{product_id}/images/{image_id}/thumb"


async def _public_page(
    session: AsyncSession,
    params: ProductSearchParams,
    attribute_pairs: AttributePairs,
    sort: SearchSort,
) -> tuple[ProductSearchPage, CachedPricing]:
    after = _decode_keyset(params.cursor, sort) if params.cursor else None
    filters = await build_filters(session, params, attribute_pairs)
    found = await repository.search(session, filters, sort, after, params.limit + 1)
    rows = found[: params.limit]
    tiers = {
        row["id"]: [Tier(min_qty, unit_price) for min_qty, unit_price in row["price_tiers"] or ()]
        for row in rows
    }
    items = []
    for row in rows:
        product_id = row["id"]
        quantity = priced_quantity(params.quantity, row["moq"], row["order_multiple"])
        category_id = row["category_id"]
        item = ProductSearchItem(
            id=product_id,
            sku=row["sku"],
            name=row["name"],
            supplier=SupplierSummary(
                id=row["supplier_id"], name=row["supplier_name"], country=row["supplier_country"]
            ),
            category=CategorySummary(
                id=category_id, slug=row["category_slug"], name=row["category_name"]
            )
            if category_id is not None
            else None,
            unit=row["unit"],
            currency=row["currency"],
            base_price=row["base_price"],
            unit_price=None,
            price_quantity=quantity,
            moq=row["moq"],
            order_multiple=row["order_multiple"],
            in_stock=row["in_stock"],
            lead_time_days=row["lead_time_days"],
            thumbnail_url=_thumbnail_url(product_id, row["thumbnail_id"]),
            created_at=row["created_at"],
        )
        item.unit_price = _public_unit_price(quantity, item, tiers[product_id])
        items.append(item)
    pricing = CachedPricing(
        tiers={
            product_id: [(tier.min_qty, tier.unit_price) for tier in product_tiers]
            for product_id, product_tiers in tiers.items()
        }
    )
    return page_of(found, params.limit, items, key=_keyset_of(sort)), pricing


async def _page_key(
    cache: Cache,
    params: ProductSearchParams,
    attribute_pairs: AttributePairs,
    sort: SearchSort,
    cache_ttl_seconds: float,
) -> str | None:
    """The cache key of a page; None when the cache is off."""
    if cache_ttl_seconds <= 0:
        return None
    values = _filter_key(params, attribute_pairs) | {
        "sort": sort,
        "limit": params.limit,
        "cursor": params.cursor,
    }
    return _cache_key(PAGE_KEY_PREFIX, await _generation(cache), values)


async def _facets_key(
    cache: Cache, params: ProductFilters, attribute_pairs: AttributePairs, cache_ttl_seconds: float
) -> str | None:
    if cache_ttl_seconds <= 0:
        return None
    return _cache_key(
        FACETS_KEY_PREFIX, await _generation(cache), _filter_key(params, attribute_pairs)
    )


def _has_valid_price_range(params: ProductFilters) -> bool:
    try:
        _check_price_range(params)
    except InvalidPriceRange:
        return False
    return True


async def cached_public_page(
    cache: Cache, params: ProductSearchParams, *, cache_ttl_seconds: float
) -> bytes | Missed | None:
    """The cached page (of a query without attribute filters) exactly as
    `search_products` gives it to an anonymous visitor; or the key that is not cached
    (`search_products` is handed it and fills it); or None: not cacheable, or
    parameters that `search_products` refuses."""
    if not _has_valid_price_range(params):
        return None
    sort = effective_sort(params)
    key = await _page_key(cache, params, [], sort, cache_ttl_seconds)
    if key is None:
        return None
    entry = await caching.read(cache, key)
    return Missed(key) if entry is None else entry.partition(_ENTRY_SEPARATOR)[0]


async def cached_public_facets(
    cache: Cache, params: ProductFilters, *, cache_ttl_seconds: float
) -> bytes | Missed | None:
    """The cached facets (of a query without attribute filters) exactly as
    `product_facets` renders them, the key that is not cached, or None."""
    if not _has_valid_price_range(params):
        return None
    key = await _facets_key(cache, params, [], cache_ttl_seconds)
    if key is None:
        return None
    cached = await caching.read(cache, key)
    return Missed(key) if cached is None else cached


def _missed(missed_key: str | None, prefix: str) -> str | None:
    """The key this request already missed before routing, if it is one of `prefix`'s:
    computed from the same query string, so neither the key nor the entry is read again."""
    return missed_key if missed_key is not None and missed_key.startswith(prefix) else None


async def search_products(
    session: AsyncSession,
    cache: Cache,
    params: ProductSearchParams,
    attribute_pairs: AttributePairs,
    *,
    buyer_id: uuid.UUID | None,
    cache_ttl_seconds: float,
    missed_key: str | None = None,
) -> RenderedPage | ProductSearchPage:
    """A page of visible products. Anonymous visitors (and buyers without a price list for
    any item on the page) get the public page, served from the cache when it is there.
    `missed_key`: the entry this request already found missing before routing."""
    sort = effective_sort(params)
    _check_price_range(params)
    key = _missed(missed_key, PAGE_KEY_PREFIX)
    if key is None:
        key = await _page_key(cache, params, attribute_pairs, sort, cache_ttl_seconds)
        prefetched = None
        if key is None:
            entry = None
        elif buyer_id is None:
            entry = await caching.read(cache, key)
        else:
            # The page and the buyer's price lists of it in one round trip.
            entry, prefetched = await price_lists_service.read_with_buyer_prices(
                cache, key, caching.buyer_page_prices_key(buyer_id, key)
            )
        if entry is not None:
            body, _separator, raw_pricing = entry.partition(_ENTRY_SEPARATOR)
            return await _with_buyer_prices(
                session,
                cache,
                RenderedPage(body),
                lambda: CachedPricing.model_validate_json(raw_pricing),
                buyer_id,
                key,
                prefetched,
            )
    page, pricing = await _public_page(session, params, attribute_pairs, sort)
    body = page.model_dump_json().encode()
    if key is not None:
        entry = body + _ENTRY_SEPARATOR + pricing.model_dump_json().encode()
        await caching.store(cache, key, entry, cache_ttl_seconds)
    return await _with_buyer_prices(
        session, cache, RenderedPage(body), lambda: pricing, buyer_id, key, None
    )


async def _with_buyer_prices(
    session: AsyncSession,
    cache: Cache,
    rendered: RenderedPage,
    load_pricing: Callable[[], CachedPricing],
    buyer_id: uuid.UUID | None,
    page_key: str | None,
    prefetched: BuyerPriceEntry | None,
) -> RenderedPage | ProductSearchPage:
    """The page with the buyer's price list prices. For a cached page (`page_key`), the
    buyer's price lists of it are cached too, as a detail's are
    (`price_lists.service.buyer_price_lists`)."""
    if buyer_id is None:
        return rendered
    page = ProductSearchPage.model_validate_json(rendered.body)
    product_ids = [item.id for item in page.items]
    if page_key is None:
        price_lists = await price_lists_repository.price_lists_for_buyer(
            session, buyer_id, product_ids
        )
    else:
        price_lists = await price_lists_service.buyer_price_lists(
            session,
            cache,
            buyer_id,
            caching.buyer_page_prices_key(buyer_id, page_key),
            product_ids,
            prefetched=prefetched,
        )
    if not price_lists:
        return rendered
    return apply_buyer_prices(page, load_pricing(), price_lists)


# -- facets ---------------------------------------------------------------------------


async def product_facets(
    session: AsyncSession,
    cache: Cache,
    params: ProductFilters,
    attribute_pairs: AttributePairs,
    *,
    cache_ttl_seconds: float,
    missed_key: str | None = None,
) -> RenderedPage:
    """Facet counts are public (no prices of anyone's list), so always cacheable.
    `missed_key`: the entry this request already found missing before routing."""
    _check_price_range(params)
    key = _missed(missed_key, FACETS_KEY_PREFIX)
    if key is None:
        key = await _facets_key(cache, params, attribute_pairs, cache_ttl_seconds)
        cached = None if key is None else await caching.read(cache, key)
        if cached is not None:
            return RenderedPage(cached)
    filters = await build_filters(session, params, attribute_pairs)
    counts = await repository.facet_counts(session, filters)
    categories = await repository.all_categories(session)
    facets = ProductFacets(
        total=counts.total,
        is_exact=counts.sampled < repository.FACET_SAMPLE_LIMIT,
        categories=_category_facets(categories, counts.categories),
        supplier_countries=[
            CountryFacet(country=country, count=count)
            for country, count in sorted(counts.countries.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        price_buckets=_price_buckets(counts.price_buckets),
    )
    body = facets.model_dump_json().encode()
    if key is not None:
        await caching.store(cache, key, body, cache_ttl_seconds)
    return RenderedPage(body)


def _category_facets(
    categories: Iterable[Any], direct_counts: dict[uuid.UUID, int]
) -> list[CategoryFacet]:
    """Counts rolled up the tree: a category counts its own products and its descendants'."""
    by_id = {category.id: category for category in categories}
    totals: dict[uuid.UUID, int] = {}
    for category_id, count in direct_counts.items():
        current = by_id.get(category_id)
        seen: set[uuid.UUID] = set()
        while current is not None and current.id not in seen:
            seen.add(current.id)
            totals[current.id] = totals.get(current.id, 0) + count
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return [
        CategoryFacet(
            id=category.id,
            slug=category.slug,
            name=category.name,
            path=category.path,
            parent_id=category.parent_id,
            count=totals[category.id],
        )
        for category in sorted(by_id.values(), key=lambda category: category.path)
        if category.id in totals
    ]


def _price_buckets(counts: dict[tuple[str, int], int]) -> list[PriceBucketFacet]:
    bounds = repository.PRICE_BUCKET_BOUNDS
    buckets = []
    for (currency, index), count in sorted(counts.items()):
        if not 1 <= index <= len(bounds):
            continue
        buckets.append(
            PriceBucketFacet(
                currency=currency,
                min=bounds[index - 1],
                max=bounds[index] if index < len(bounds) else None,
                count=count,
            )
        )
    return buckets
