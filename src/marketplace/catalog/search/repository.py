"""Every query of catalog search. Visibility comes from `visible_products()`, nothing else.

Query shapes (their plans on 100,000 products are in bench/README.md):
- typo corrections: per query word, its deletion variants probed in the primary key of
  `catalog_search_term_deletions` (`= ANY`), a few rows each;
- text: `search_vector @@ tsquery` (GIN) OR a SKU prefix (trigram GIN), ranked by
  tiers (SKU, words as typed, likeliest corrections) plus `ts_rank`; top-N sort;
- newest: `(created_at, id)` b-tree walked backwards, the keyset condition an index bound;
- price: `(base_price, id)` b-tree, likewise; with `quantity`, the tier price at that
  quantity is a per-row sub-select on `price_tiers (product_id, min_qty)`;
- facets: one pass over at most `FACET_SAMPLE_LIMIT` matches, grouped three ways.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Float,
    Numeric,
    Row,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import LateralFromClause

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import PriceTier, Product, ProductImage
from marketplace.catalog.repository import visible_products
from marketplace.catalog.search.models import MAX_TERM_LENGTH
from marketplace.catalog.search.schemas import SearchSort
from marketplace.companies.models import Company
from marketplace.core.db import transaction_memo
from marketplace.core.driver import DriverStatement
from marketplace.core.repository import Descending, keyset

AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]

# The most matches facets look at; beyond it counts describe a sample (flagged inexact).
FACET_SAMPLE_LIMIT = 10_000
# Lower bounds of the price buckets, in each currency; the last bucket is open-ended.
PRICE_BUCKET_BOUNDS = tuple(
    Decimal(bound) for bound in ("0", "1", "5", "10", "50", "100", "500", "1000", "5000")
)
SEARCH_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class TextQuery:
    """A prepared full-text query: what matches (`tsquery`: each word as a prefix or one of
    its typo corrections) and, for ranking, the words exactly as typed, as typed with
    prefixes and with their likeliest corrections (these two only when they differ from
    `tsquery`); the SKU patterns."""

    tsquery: str | None
    exact_tsquery: str | None
    strict_tsquery: str | None
    likeliest_tsquery: str | None
    sku_exact: str | None  # ILIKE pattern without wildcards
    sku_prefix: str | None


@dataclass(frozen=True)
class SearchFilters:
    text: TextQuery | None = None
    category_ids: Sequence[uuid.UUID] | None = None
    supplier_id: uuid.UUID | None = None
    supplier_country: str | None = None
    currency: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    quantity: Decimal | None = None
    in_stock: bool = False
    # key -> accepted values (each value as its JSON forms: "10" also matches 10)
    attributes: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Keyset:
    """The sort key and id of the last item served."""

    value: Any
    id: uuid.UUID


@dataclass(frozen=True)
class FacetCounts:
    total: int
    sampled: int
    categories: dict[uuid.UUID, int]
    countries: dict[str, int]
    price_buckets: dict[tuple[str, int], int]  # (currency, bucket index) -> count


# The query's words (`correction_candidates`) and their candidate corrections.
CORRECTION_CANDIDATES = text(
    """
    WITH parsed AS (
        SELECT lexeme AS token, positions[1] AS first,
               positions[cardinality(positions)] AS last
        FROM unnest(to_tsvector('simple', :query))
    ), tokens AS (
        SELECT token, row_number() OVER (ORDER BY first, token) AS number,
               last = max(last) OVER () AS is_last,
               CASE
                   WHEN length(token) NOT BETWEEN :min_length AND :max_length
                        OR token ~ '[0-9_]' THEN 0
                   WHEN length(token) >= :two_typos_from THEN 2
                   ELSE 1
               END AS allowance
        FROM parsed
    )
    SELECT tokens.token, candidate.term
    FROM tokens
    LEFT JOIN LATERAL (
        SELECT DISTINCT neighbour.term
        FROM catalog_search_term_deletions AS neighbour
        WHERE tokens.allowance > 0
          AND neighbour.deletion = ANY (ARRAY(
                SELECT variant COLLATE "C"
                FROM catalog_search_deletions(tokens.token, tokens.allowance) AS variant
              ))
          AND NOT EXISTS (
              SELECT 1 FROM catalog_search_terms AS known
              WHERE known.term = (tokens.token COLLATE "C")
          )
          AND NOT (
              tokens.is_last AND EXISTS (
                  SELECT 1 FROM catalog_search_terms AS known
                  WHERE known.term ^@ (tokens.token COLLATE "C")
              )
          )
    ) AS candidate ON true
    WHERE tokens.number <= :max_tokens
    ORDER BY tokens.number, candidate.term
    """
)


def correction_parameters(
    query: str, *, max_tokens: int, min_length: int, two_typos_from: int
) -> dict[str, Any]:
    """The parameters of `CORRECTION_CANDIDATES`. A word longer than a dictionary word by
    more than two letters is within two edits of none."""
    return {
        "query": query,
        "max_tokens": max_tokens,
        "min_length": min_length,
        "max_length": MAX_TERM_LENGTH + 2,
        "two_typos_from": two_typos_from,
    }


async def correction_candidates(
    session: AsyncSession, query: str, *, max_tokens: int, min_length: int, two_typos_from: int
) -> list[tuple[str, list[str]]]:
    """The query's first `max_tokens` words as the search documents spell them (same
    parser), each with the dictionary words that may be within its typo allowance: one
    edit, two for words of `two_typos_from` letters or more (the caller measures them
    exactly). None for dictionary words, words shorter than `min_length` or longer than
    any dictionary word can be within two edits of (the deletions of a long word are
    many), words with digits (part numbers), and a last word that starts a dictionary
    word: it may be still being typed ("cordl"); earlier words are complete ("fre door"
    is "fire door").
    Candidates share a deletion variant with the word (the symmetric-delete lookup,
    migration 0640_search_term_deletions): one index probe per variant of the word."""
    await plan_for_the_parameters(session)
    rows = await _CORRECTION_CANDIDATES.fetch(
        session,
        **correction_parameters(
            query, max_tokens=max_tokens, min_length=min_length, two_typos_from=two_typos_from
        ),
    )
    tokens: dict[str, list[str]] = {}
    for token, term in rows:
        candidates = tokens.setdefault(token, [])
        if term is not None:
            candidates.append(term)
    return list(tokens.items())


def _custom_plans_setting() -> ColumnElement[Any]:
    return func.set_config("plan_cache_mode", "force_custom_plan", True)


def _category_scope() -> Select[Any]:
    """The ids of the category and its descendants, as one array; and, in the same round
    trip, this transaction's searches set to plan for their parameters (see
    `plan_for_the_parameters`): a category's search follows its scope, and the setting
    was a statement of its own (the scope's own lookup by slug and path needs no
    custom plan)."""
    path = select(Category.path).where(Category.slug == bindparam("slug")).scalar_subquery()
    ids = select(Category.id).where(
        or_(Category.path == path, func.starts_with(Category.path, path + "/"))
    )
    return select(
        func.array(ids.scalar_subquery()).label("ids"),
        _custom_plans_setting().label("custom_plans"),
    )


# Every search runs these two before its own statement (a category filter, words): on
# the driver, built and compiled once, instead of through the ORM's execution, which
# cost more CPU than PostgreSQL's work (bench/README.md, "Changes and their measured
# effect").
_CATEGORY_SCOPE = DriverStatement(_category_scope())
_CORRECTION_CANDIDATES = DriverStatement(CORRECTION_CANDIDATES)


async def category_scope(session: AsyncSession, slug: str) -> list[uuid.UUID] | None:
    """The category and all its descendants (by path prefix); None for an unknown slug.
    The transaction's later searches plan for their parameters (`_category_scope`)."""
    row = await _CATEGORY_SCOPE.fetchrow(session, slug=slug)
    assert row is not None  # an aggregate: one row
    _planned_for_the_parameters(session)
    ids: list[uuid.UUID] = list(row["ids"] or ())
    return ids or None


async def all_categories(session: AsyncSession) -> Sequence[AnyRow]:
    rows = await session.execute(
        select(Category.id, Category.slug, Category.name, Category.path, Category.parent_id)
    )
    return rows.all()


def _tsquery(text_query: str) -> ColumnElement[Any]:
    return func.to_tsquery(SEARCH_CONFIG, text_query)


def tier_price_at(quantity: Decimal) -> LateralFromClause:
    """Per product, the tier price at `quantity` raised to the MOQ and rounded up to the
    pack size: exactly what `service.priced_quantity` shows. A LATERAL join, so that it is
    computed once per row however often filters, sort and output use it."""
    wanted = func.greatest(cast(literal(quantity), Numeric), Product.moq)
    priced = case(
        (Product.order_multiple.is_(None), wanted),
        else_=func.ceil(wanted / Product.order_multiple) * Product.order_multiple,
    )
    return (
        select(PriceTier.unit_price.label("unit_price"))
        .where(PriceTier.product_id == Product.id, PriceTier.min_qty <= priced)
        .order_by(PriceTier.min_qty.desc())
        .limit(1)
        .lateral("price_at")
    )


def with_price(statement: AnySelect, quantity: Decimal | None) -> tuple[AnySelect, Any]:
    """The statement (joined to the tier prices when needed) and the unit price that price
    filters and sorts use: the base price (first tier) without a quantity, the tier price
    at the quantity with one."""
    if quantity is None:
        return statement, Product.base_price.expression
    price_at = tier_price_at(quantity)
    return statement.outerjoin(price_at, true()), price_at.c.unit_price


def _text_match(text_query: TextQuery) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if text_query.tsquery is not None:
        conditions.append(Product.search_vector.op("@@")(_tsquery(text_query.tsquery)))
    if text_query.sku_prefix is not None:
        conditions.append(Product.sku.ilike(text_query.sku_prefix))
    return or_(*conditions) if conditions else false()


# Rank tiers: each outweighs everything below it (`ts_rank` normalised into [0, 1)).
_SKU_EXACT, _SKU_PREFIX, _EXACT_WORDS, _WORDS_AS_TYPED, _LIKELIEST_CORRECTIONS = 16, 8, 4, 2, 1


def rank_expression(text_query: TextQuery) -> ColumnElement[float]:
    """Exact SKU first, then a SKU prefix, then the words exactly as typed ("screw"
    before "screwdriver"), then as typed with prefixes, then the likeliest correction of
    each word ("blot": bolts before boots), then `ts_rank` over the weighted document."""
    parts: list[ColumnElement[Any]] = []
    if text_query.sku_exact is not None and text_query.sku_prefix is not None:
        parts.append(
            case(
                (Product.sku.ilike(text_query.sku_exact), _SKU_EXACT),
                (Product.sku.ilike(text_query.sku_prefix), _SKU_PREFIX),
                else_=0,
            )
        )
    tiers = [
        (query, weight)
        for query, weight in (
            (text_query.exact_tsquery, _EXACT_WORDS),
            (text_query.strict_tsquery, _WORDS_AS_TYPED),
            (text_query.likeliest_tsquery, _LIKELIEST_CORRECTIONS),
        )
        if query is not None
    ]
    if tiers:
        parts.append(
            case(
                *(
                    (Product.search_vector.op("@@")(_tsquery(query)), weight)
                    for query, weight in tiers
                ),
                else_=0,
            )
        )
    if text_query.tsquery is not None:
        # Normalisation 32 (rank / (rank + 1)) keeps it below the tiers, in the same order.
        parts.append(func.ts_rank(Product.search_vector, _tsquery(text_query.tsquery), 32))
    total: ColumnElement[Any] = literal(0) if not parts else parts[0]
    for part in parts[1:]:
        total = total + part
    return cast(total, Float(precision=53))


def _attribute_match(key: str, values: Sequence[Any]) -> ColumnElement[bool]:
    return or_(*(Product.attributes.contains({key: value}) for value in values))


def _base_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """Every filter except the three that have facets (category, country, price)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.text is not None:
        conditions.append(_text_match(filters.text))
    if filters.supplier_id is not None:
        conditions.append(Product.supplier_id == filters.supplier_id)
    if filters.currency is not None:
        conditions.append(Product.currency == filters.currency)
    if filters.in_stock:
        conditions.append(Product.in_stock.expression)
    for key, values in sorted(filters.attributes.items()):
        conditions.append(_attribute_match(key, values))
    return conditions


def _category_condition(filters: SearchFilters) -> ColumnElement[bool] | None:
    if filters.category_ids is None:
        return None
    # = ANY(array): one statement text whatever the number of categories
    ids = literal(list(filters.category_ids), type_=ARRAY(Uuid))
    return Product.category_id == any_(ids)


def _country_condition(filters: SearchFilters) -> ColumnElement[bool] | None:
    if filters.supplier_country is None:
        return None
    return Company.country == filters.supplier_country


def _price_condition(
    filters: SearchFilters, price: ColumnElement[Any]
) -> ColumnElement[bool] | None:
    conditions = []
    if filters.price_min is not None:
        conditions.append(price >= filters.price_min)
    if filters.price_max is not None:
        conditions.append(price <= filters.price_max)
    return and_(*conditions) if conditions else None


def _thumbnail_id() -> ColumnElement[Any]:
    return (
        select(ProductImage.id)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


_CUSTOM_PLANS = DriverStatement(select(_custom_plans_setting()))


def _planned_for_the_parameters(session: AsyncSession) -> None:
    """Remember that this transaction set `plan_cache_mode` (after a statement set it)."""
    memo = transaction_memo(session)
    assert memo is not None  # the statement began it
    memo["custom_plans"] = True


async def plan_for_the_parameters(session: AsyncSession) -> None:
    """For the rest of this transaction, plan each search for its actual parameters.

    asyncpg prepares every statement, and after five runs PostgreSQL may keep a generic
    plan, blind to the parameters; for text search that plan was 10x slower (uncached
    facets 98 -> 9.6 ms, category + price 23.6 -> 6.5 ms). Only searches: elsewhere
    (order placement and the foreign-key checks of its inserts) the planning a generic
    plan saves is worth more (0.7 ms of PostgreSQL CPU per order). Once per transaction."""
    memo = transaction_memo(session)
    if memo is not None and memo.get("custom_plans"):
        return
    await _CUSTOM_PLANS.fetchval(session)
    _planned_for_the_parameters(session)


def _price_tiers() -> ColumnElement[Any]:
    """The product's tiers as [[min_qty, unit_price], ...] ascending: one query for a page
    instead of a second round trip (evaluated for the page's rows only, after the sort)."""
    pairs = func.array_agg(
        aggregate_order_by(array([PriceTier.min_qty, PriceTier.unit_price]), PriceTier.min_qty)
    )
    subquery = (
        select(pairs).where(PriceTier.product_id == Product.id).correlate(Product).scalar_subquery()
    )
    return type_coerce(subquery, ARRAY(Numeric(asdecimal=True), dimensions=2))


def sort_key(sort: SearchSort, filters: SearchFilters, price: Any) -> ColumnElement[Any]:
    if sort is SearchSort.RELEVANCE:
        assert filters.text is not None
        return rank_expression(filters.text)
    if sort is SearchSort.NEWEST:
        return Product.created_at.expression
    key: ColumnElement[Any] = price
    return key


# The order of each sort, per column of `(key, Product.id)`: relevance is rank
# descending, id ascending; newest and price_desc are both descending, so that one
# b-tree serves them backwards.
_DESCENDING: dict[SearchSort, Descending] = {
    SearchSort.RELEVANCE: (True, False),
    SearchSort.PRICE_ASC: False,
    SearchSort.PRICE_DESC: True,
    SearchSort.NEWEST: True,
}


def _cursor(key: ColumnElement[Any], after: Keyset | None) -> tuple[Any, ...] | None:
    """The last item's key as parameters typed like its columns (a relevance rank is a
    real, a price a numeric), not as whatever the cursor's JSON made of them."""
    if after is None:
        return None
    return (
        literal(after.value, type_=key.type),
        literal(after.id, type_=Product.id.type),
    )


@cache
def _listing() -> tuple[AnySelect, tuple[ColumnElement[Any], ...]]:
    """The visible products joined to their categories, and the columns of a result row.
    Built once: SQL constructs are immutable, and building them costs more Python time
    than running the query on a deep page."""
    columns: tuple[ColumnElement[Any], ...] = (
        Product.id.expression,
        Product.sku.expression,
        Product.name.expression,
        Product.supplier_id.expression,
        Company.name.label("supplier_name"),
        Company.country.label("supplier_country"),
        Product.category_id.expression,
        Category.slug.label("category_slug"),
        Category.name.label("category_name"),
        Product.unit.expression,
        Product.currency.expression,
        Product.base_price.expression,
        Product.moq.expression,
        Product.order_multiple.expression,
        Product.in_stock.label("in_stock"),
        Product.lead_time_days.expression,
        Product.created_at.expression,
        _thumbnail_id().label("thumbnail_id"),
        _price_tiers().label("price_tiers"),
    )
    return visible_products().outerjoin(Category, Category.id == Product.category_id), columns


def search_statement(
    filters: SearchFilters, sort: SearchSort, after: Keyset | None, limit: int
) -> AnySelect:
    listing, columns = _listing()
    statement, price = with_price(listing, filters.quantity)
    key = sort_key(sort, filters, price)
    statement = statement.with_only_columns(*columns, key.label("sort_key")).where(
        *_base_conditions(filters)
    )
    for condition in (
        _category_condition(filters),
        _country_condition(filters),
        _price_condition(filters, price),
    ):
        if condition is not None:
            statement = statement.where(condition)
    if sort in (SearchSort.PRICE_ASC, SearchSort.PRICE_DESC):
        statement = statement.where(key.is_not(None))
    return keyset(
        statement, (key, Product.id), _cursor(key, after), limit, descending=_DESCENDING[sort]
    )


async def search(
    session: AsyncSession,
    filters: SearchFilters,
    sort: SearchSort,
    after: Keyset | None,
    limit: int,
) -> Sequence[AnyRow]:
    await plan_for_the_parameters(session)
    rows = await session.execute(search_statement(filters, sort, after, limit))
    found: Sequence[AnyRow] = rows.all()
    return found


def facet_statement(filters: SearchFilters, sample_limit: int) -> AnySelect:
    """One pass over (at most `sample_limit` of) the products matching every filter but the
    faceted three, each row flagged with whether it passes those three; each facet counts
    the rows that pass the other two, so that it ignores its own filter."""
    statement, price = with_price(visible_products(), filters.quantity)
    in_category = _category_condition(filters)
    in_country = _country_condition(filters)
    in_price = _price_condition(filters, price)
    bounds = literal([str(bound) for bound in PRICE_BUCKET_BOUNDS], ARRAY(Numeric))
    matched = (
        statement.with_only_columns(
            Product.category_id.label("category_id"),
            Company.country.label("country"),
            Product.currency.label("currency"),
            func.width_bucket(price, bounds).label("bucket"),
            (in_category if in_category is not None else true()).label("in_category"),
            (in_country if in_country is not None else true()).label("in_country"),
            (func.coalesce(in_price, false()) if in_price is not None else true()).label(
                "in_price"
            ),
        )
        .where(*_base_conditions(filters))
        .limit(sample_limit)
        .cte("matched")
    )
    column = matched.c
    return select(
        func.grouping(column.category_id, column.country, column.currency, column.bucket).label(
            "grouping"
        ),
        column.category_id,
        column.country,
        column.currency,
        column.bucket,
        func.count().filter(and_(column.in_country, column.in_price)).label("by_category"),
        func.count().filter(and_(column.in_category, column.in_price)).label("by_country"),
        func.count().filter(and_(column.in_category, column.in_country)).label("by_price"),
        func.count()
        .filter(and_(column.in_category, column.in_country, column.in_price))
        .label("total"),
        func.count().label("sampled"),
    ).group_by(
        func.grouping_sets(
            tuple_(column.category_id),
            tuple_(column.country),
            tuple_(column.currency, column.bucket),
            text("()"),
        )
    )


# GROUPING() bit masks of the four grouping sets (a set bit: the column is not grouped).
_BY_CATEGORY, _BY_COUNTRY, _BY_PRICE, _OVERALL = 0b0111, 0b1011, 0b1100, 0b1111


async def facet_counts(
    session: AsyncSession, filters: SearchFilters, sample_limit: int = FACET_SAMPLE_LIMIT
) -> FacetCounts:
    await plan_for_the_parameters(session)
    rows = await session.execute(facet_statement(filters, sample_limit))
    total = sampled = 0
    categories: dict[uuid.UUID, int] = {}
    countries: dict[str, int] = {}
    buckets: dict[tuple[str, int], int] = {}
    for row in rows:
        if row.grouping == _OVERALL:
            total, sampled = row.total, row.sampled
        elif row.grouping == _BY_CATEGORY:
            if row.category_id is not None and row.by_category:
                categories[row.category_id] = row.by_category
        elif row.grouping == _BY_COUNTRY:
            if row.by_country:
                countries[row.country] = row.by_country
        elif row.grouping == _BY_PRICE and row.bucket is not None and row.by_price:
            buckets[(row.currency, row.bucket)] = row.by_price
    return FacetCounts(
        total=total,
        sampled=sampled,
        categories=categories,
        countries=countries,
        price_buckets=buckets,
    )
