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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Row,
    Select,
    String,
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
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import LateralFromClause
from sqlalchemy.sql.type_api import TypeEngine

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import PriceTier, Product, ProductImage
from marketplace.catalog.repository import visible_products
from marketplace.catalog.search.models import MAX_TERM_LENGTH
from marketplace.catalog.search.schemas import SearchSort
from marketplace.companies.models import Company
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


def _category_scope() -> Select[Any]:
    """The ids of the category and its descendants, as one array."""
    path = select(Category.path).where(Category.slug == bindparam("slug")).scalar_subquery()
    ids = select(Category.id).where(
        or_(Category.path == path, func.starts_with(Category.path, path + "/"))
    )
    return select(func.array(ids.scalar_subquery()).label("ids"))


# Every search runs these before its own statement (a category filter, words): on the
# driver, built and compiled once, instead of through the ORM's execution, which cost
# more CPU than PostgreSQL's work (bench/README.md, "Changes and their measured
# effect"). The scope's lookup by slug and path needs no plan of its own per slug; the
# corrections' probes, like every search, are planned for their parameters
# (`core.driver.plan_each_run`).
_CATEGORY_SCOPE = DriverStatement(_category_scope())
_CORRECTION_CANDIDATES = DriverStatement(CORRECTION_CANDIDATES, plan_each_run=True)


async def category_scope(session: AsyncSession, slug: str) -> list[uuid.UUID] | None:
    """The category and all its descendants (by path prefix); None for an unknown slug."""
    row = await _CATEGORY_SCOPE.fetchrow(session, slug=slug)
    assert row is not None  # an aggregate: one row
    ids: list[uuid.UUID] = list(row["ids"] or ())
    return ids or None


async def all_categories(session: AsyncSession) -> Sequence[AnyRow]:
    rows = await session.execute(
        select(Category.id, Category.slug, Category.name, Category.path, Category.parent_id)
    )
    return rows.all()


# -- statements, one per shape -------------------------------------------------------
#
# A search's statement depends on which filters it has (its shape), not on their
# values: each shape is built and compiled once, its values sent as parameters, and run
# on the driver (`core.driver`), planned for those values on every run. Building the
# statement with SQLAlchemy and running it through the ORM per request was the largest
# part of an uncached text search's CPU (21%, bench/README.md "Where the time goes").


def _text_value(name: str) -> Callable[[SearchFilters], Any]:
    return lambda filters: getattr(filters.text, name) if filters.text is not None else None


def _category_ids(filters: SearchFilters) -> list[uuid.UUID] | None:
    return list(filters.category_ids) if filters.category_ids is not None else None


# The parameters of the filters that have one: (name, its value, its SQL type).
_VALUES: tuple[tuple[str, Callable[[SearchFilters], Any], TypeEngine[Any]], ...] = (
    ("tsquery", _text_value("tsquery"), String()),
    ("exact_tsquery", _text_value("exact_tsquery"), String()),
    ("strict_tsquery", _text_value("strict_tsquery"), String()),
    ("likeliest_tsquery", _text_value("likeliest_tsquery"), String()),
    ("sku_exact", _text_value("sku_exact"), Product.sku.type),
    ("sku_prefix", _text_value("sku_prefix"), Product.sku.type),
    # = ANY(array): one statement text whatever the number of categories
    ("category_ids", _category_ids, ARRAY(Uuid)),
    ("supplier_id", lambda filters: filters.supplier_id, Product.supplier_id.type),
    ("supplier_country", lambda filters: filters.supplier_country, Company.country.type),
    ("currency", lambda filters: filters.currency, Product.currency.type),
    ("price_min", lambda filters: filters.price_min, Numeric()),
    ("price_max", lambda filters: filters.price_max, Numeric()),
    ("quantity", lambda filters: filters.quantity, Numeric()),
)
_TYPES = {name: type_ for name, _value, type_ in _VALUES}

# Which filters a search has: (text?, in stock?, the names of the valued filters
# present, the number of accepted values of each attribute key in key order).
FilterShape = tuple[bool, bool, tuple[str, ...], tuple[int, ...]]


def _attribute_parameter(key_index: int, value_index: int) -> str:
    return f"attribute_{key_index}_{value_index}"


def filter_shape(filters: SearchFilters) -> tuple[FilterShape, dict[str, Any]]:
    """The shape of `filters` and the values of its parameters."""
    values: dict[str, Any] = {}
    for name, value_of, _type in _VALUES:
        value = value_of(filters)
        if value is not None:
            values[name] = value
    present = tuple(values)
    accepted = []
    for key_index, (key, alternatives) in enumerate(sorted(filters.attributes.items())):
        accepted.append(len(alternatives))
        for value_index, value in enumerate(alternatives):
            values[_attribute_parameter(key_index, value_index)] = {key: value}
    shape = (filters.text is not None, filters.in_stock, present, tuple(accepted))
    return shape, values


@dataclass(frozen=True)
class _Bound:
    """A filter shape as the statement's parameters (None: that filter is not used)."""

    text: bool
    in_stock: bool
    parameters: dict[str, ColumnElement[Any]]
    attributes: tuple[tuple[ColumnElement[Any], ...], ...]

    def get(self, name: str) -> ColumnElement[Any] | None:
        return self.parameters.get(name)


def _bound(shape: FilterShape) -> _Bound:
    text_used, in_stock, present, accepted = shape
    return _Bound(
        text=text_used,
        in_stock=in_stock,
        parameters={name: bindparam(name, type_=_TYPES[name]) for name in present},
        attributes=tuple(
            tuple(
                bindparam(
                    _attribute_parameter(key_index, value_index), type_=Product.attributes.type
                )
                for value_index in range(count)
            )
            for key_index, count in enumerate(accepted)
        ),
    )


def _tsquery(text_query: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.to_tsquery(SEARCH_CONFIG, text_query)


def tier_price_at(quantity: ColumnElement[Any]) -> LateralFromClause:
    """Per product, the tier price at `quantity` raised to the MOQ and rounded up to the
    pack size: exactly what `service.priced_quantity` shows. A LATERAL join, so that it is
    computed once per row however often filters, sort and output use it."""
    wanted = func.greatest(cast(quantity, Numeric), Product.moq)
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


def with_price(statement: AnySelect, quantity: ColumnElement[Any] | None) -> tuple[AnySelect, Any]:
    """The statement (joined to the tier prices when needed) and the unit price that price
    filters and sorts use: the base price (first tier) without a quantity, the tier price
    at the quantity with one."""
    if quantity is None:
        return statement, Product.base_price.expression
    price_at = tier_price_at(quantity)
    return statement.outerjoin(price_at, true()), price_at.c.unit_price


def _text_match(bound: _Bound) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    tsquery, sku_prefix = bound.get("tsquery"), bound.get("sku_prefix")
    if tsquery is not None:
        conditions.append(Product.search_vector.op("@@")(_tsquery(tsquery)))
    if sku_prefix is not None:
        conditions.append(Product.sku.ilike(sku_prefix))
    return or_(*conditions) if conditions else false()


# Rank tiers: each outweighs everything below it (`ts_rank` normalised into [0, 1)).
_SKU_EXACT, _SKU_PREFIX, _EXACT_WORDS, _WORDS_AS_TYPED, _LIKELIEST_CORRECTIONS = 16, 8, 4, 2, 1


def rank_expression(bound: _Bound) -> ColumnElement[float]:
    """Exact SKU first, then a SKU prefix, then the words exactly as typed ("screw"
    before "screwdriver"), then as typed with prefixes, then the likeliest correction of
    each word ("blot": bolts before boots), then `ts_rank` over the weighted document."""
    parts: list[ColumnElement[Any]] = []
    sku_exact, sku_prefix = bound.get("sku_exact"), bound.get("sku_prefix")
    if sku_exact is not None and sku_prefix is not None:
        parts.append(
            case(
                (Product.sku.ilike(sku_exact), _SKU_EXACT),
                (Product.sku.ilike(sku_prefix), _SKU_PREFIX),
                else_=0,
            )
        )
    tiers = [
        (query, weight)
        for query, weight in (
            (bound.get("exact_tsquery"), _EXACT_WORDS),
            (bound.get("strict_tsquery"), _WORDS_AS_TYPED),
            (bound.get("likeliest_tsquery"), _LIKELIEST_CORRECTIONS),
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
    tsquery = bound.get("tsquery")
    if tsquery is not None:
        # Normalisation 32 (rank / (rank + 1)) keeps it below the tiers, in the same order.
        parts.append(func.ts_rank(Product.search_vector, _tsquery(tsquery), 32))
    total: ColumnElement[Any] = literal(0) if not parts else parts[0]
    for part in parts[1:]:
        total = total + part
    return cast(total, Float(precision=53))


def _attribute_match(alternatives: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
    return or_(*(Product.attributes.contains(value) for value in alternatives))


def _base_conditions(bound: _Bound) -> list[ColumnElement[bool]]:
    """Every filter except the three that have facets (category, country, price)."""
    conditions: list[ColumnElement[bool]] = []
    if bound.text:
        conditions.append(_text_match(bound))
    supplier_id, currency = bound.get("supplier_id"), bound.get("currency")
    if supplier_id is not None:
        conditions.append(Product.supplier_id == supplier_id)
    if currency is not None:
        conditions.append(Product.currency == currency)
    if bound.in_stock:
        conditions.append(Product.in_stock.expression)
    for alternatives in bound.attributes:
        conditions.append(_attribute_match(alternatives))
    return conditions


def _category_condition(bound: _Bound) -> ColumnElement[bool] | None:
    ids = bound.get("category_ids")
    return None if ids is None else Product.category_id == any_(ids)


def _country_condition(bound: _Bound) -> ColumnElement[bool] | None:
    country = bound.get("supplier_country")
    return None if country is None else Company.country == country


def _price_condition(bound: _Bound, price: ColumnElement[Any]) -> ColumnElement[bool] | None:
    conditions = []
    price_min, price_max = bound.get("price_min"), bound.get("price_max")
    if price_min is not None:
        conditions.append(price >= price_min)
    if price_max is not None:
        conditions.append(price <= price_max)
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


def sort_key(sort: SearchSort, bound: _Bound, price: Any) -> ColumnElement[Any]:
    if sort is SearchSort.RELEVANCE:
        assert bound.text
        return rank_expression(bound)
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


def _cursor(key: ColumnElement[Any]) -> tuple[Any, ...]:
    """The last item's key as parameters typed like its columns (a relevance rank is a
    real, a price a numeric), not as whatever the cursor's JSON made of them."""
    return (
        bindparam("after_value", type_=key.type),
        bindparam("after_id", type_=Product.id.type),
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


# Parameters that only rank: facets count matches, whatever their order.
_RANKING_ONLY = frozenset(("exact_tsquery", "strict_tsquery", "likeliest_tsquery", "sku_exact"))


def _matching_shape(filters: SearchFilters) -> tuple[FilterShape, dict[str, Any]]:
    """`filter_shape` without the parameters that only rank (facets, sorts by other keys)."""
    (text_used, in_stock, present, accepted), values = filter_shape(filters)
    matching = tuple(name for name in present if name not in _RANKING_ONLY)
    for name in _RANKING_ONLY:
        values.pop(name, None)
    return (text_used, in_stock, matching, accepted), values


# (filter shape, sort, whether after a cursor)
SearchShape = tuple[FilterShape, SearchSort, bool]


def _search_select(shape: SearchShape) -> AnySelect:
    filters, sort, after = shape
    bound = _bound(filters)
    listing, columns = _listing()
    statement, price = with_price(listing, bound.get("quantity"))
    key = sort_key(sort, bound, price)
    statement = statement.with_only_columns(*columns, key.label("sort_key")).where(
        *_base_conditions(bound)
    )
    for condition in (
        _category_condition(bound),
        _country_condition(bound),
        _price_condition(bound, price),
    ):
        if condition is not None:
            statement = statement.where(condition)
    if sort in (SearchSort.PRICE_ASC, SearchSort.PRICE_DESC):
        statement = statement.where(key.is_not(None))
    return keyset(
        statement,
        (key, Product.id),
        _cursor(key) if after else None,
        bindparam("limit", type_=Integer),  # type: ignore[arg-type]
        descending=_DESCENDING[sort],
    )


def _search_shape(
    filters: SearchFilters, sort: SearchSort, after: Keyset | None, limit: int
) -> tuple[SearchShape, dict[str, Any]]:
    shape, values = (
        filter_shape(filters) if sort is SearchSort.RELEVANCE else _matching_shape(filters)
    )
    values["limit"] = limit
    if after is not None:
        values["after_value"] = after.value
        values["after_id"] = after.id
    return (shape, sort, after is not None), values


def search_statement(
    filters: SearchFilters, sort: SearchSort, after: Keyset | None, limit: int
) -> AnySelect:
    """The statement `search` runs, its values bound (for EXPLAIN, bench/explain_catalog.py)."""
    shape, values = _search_shape(filters, sort, after, limit)
    return _search_select(shape).params(values)


class _Statements:
    """Driver statements by shape, built on first use. Bounded: the shapes in use are
    few, but attribute filters multiply them."""

    LIMIT = 512

    def __init__(self, build: Callable[[Any], ClauseElement]) -> None:
        self._build = build
        self._statements: dict[Any, DriverStatement] = {}

    def get(self, shape: Any) -> DriverStatement:
        statement = self._statements.get(shape)
        if statement is None:
            if len(self._statements) >= self.LIMIT:
                self._statements.clear()
            statement = self._statements[shape] = DriverStatement(
                self._build(shape), plan_each_run=True
            )
        return statement


_SEARCHES = _Statements(_search_select)


async def search(
    session: AsyncSession,
    filters: SearchFilters,
    sort: SearchSort,
    after: Keyset | None,
    limit: int,
) -> list[asyncpg.Record]:
    """At most `limit` rows of `_listing()`'s columns and `sort_key`, in the sort's order."""
    shape, values = _search_shape(filters, sort, after, limit)
    return await _SEARCHES.get(shape).fetch(session, **values)


def _facet_select(shape: FilterShape) -> AnySelect:
    """One pass over (at most `sample_limit` of) the products matching every filter but the
    faceted three, each row flagged with whether it passes those three; each facet counts
    the rows that pass the other two, so that it ignores its own filter."""
    bound = _bound(shape)
    statement, price = with_price(visible_products(), bound.get("quantity"))
    in_category = _category_condition(bound)
    in_country = _country_condition(bound)
    in_price = _price_condition(bound, price)
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
        .where(*_base_conditions(bound))
        .limit(bindparam("sample_limit", type_=Integer))
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


def facet_statement(filters: SearchFilters, sample_limit: int) -> AnySelect:
    """The statement `facet_counts` runs, its values bound (for EXPLAIN)."""
    shape, values = _matching_shape(filters)
    return _facet_select(shape).params(values, sample_limit=sample_limit)


_FACETS = _Statements(_facet_select)


# GROUPING() bit masks of the four grouping sets (a set bit: the column is not grouped).
_BY_CATEGORY, _BY_COUNTRY, _BY_PRICE, _OVERALL = 0b0111, 0b1011, 0b1100, 0b1111


async def facet_counts(
    session: AsyncSession, filters: SearchFilters, sample_limit: int = FACET_SAMPLE_LIMIT
) -> FacetCounts:
    shape, values = _matching_shape(filters)
    rows = await _FACETS.get(shape).fetch(session, **values, sample_limit=sample_limit)
    total = sampled = 0
    categories: dict[uuid.UUID, int] = {}
    countries: dict[str, int] = {}
    buckets: dict[tuple[str, int], int] = {}
    for row in rows:
        grouping = row["grouping"]
        if grouping == _OVERALL:
            total, sampled = row["total"], row["sampled"]
        elif grouping == _BY_CATEGORY:
            if row["category_id"] is not None and row["by_category"]:
                categories[row["category_id"]] = row["by_category"]
        elif grouping == _BY_COUNTRY:
            if row["by_country"]:
                countries[row["country"]] = row["by_country"]
        elif grouping == _BY_PRICE and row["bucket"] is not None and row["by_price"]:
            buckets[(row["currency"], row["bucket"])] = row["by_price"]
    return FacetCounts(
        total=total,
        sampled=sampled,
        categories=categories,
        countries=countries,
        price_buckets=buckets,
    )
