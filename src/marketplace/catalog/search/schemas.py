"""Search parameters, result items and facets of `GET /api/v1/products[/facets]`."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from marketplace.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from marketplace.core.text import Text

MAX_QUERY_LENGTH = 200
CENT = Decimal("0.01")


def format_money(value: Decimal) -> str:
    """At least two places ("12.50"), more only when the price has them ("0.0125")."""
    if value == value.quantize(CENT):
        return str(value.quantize(CENT))
    return format(value.normalize(), "f")


def format_quantity(value: Decimal) -> str:
    """As people write quantities: 10.000 -> "10", 2.500 -> "2.5"."""
    return format(value.normalize(), "f") if value else "0"


# Money and quantities are decimal strings in JSON, never floats.
Money = Annotated[Decimal, PlainSerializer(format_money, return_type=str, when_used="json")]
Quantity = Annotated[Decimal, PlainSerializer(format_quantity, return_type=str, when_used="json")]


class SearchSort(StrEnum):
    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    collapsed = " ".join(value.split())
    return collapsed or None


class ProductFilters(BaseModel):
    """Query parameters shared by the product list and its facets."""

    model_config = ConfigDict(extra="ignore")  # attr.<key>=<value> parameters are free-form

    q: Annotated[
        Text | None,
        Field(
            max_length=MAX_QUERY_LENGTH,
            description="Words to find in the name, SKU, attributes and description; "
            "partial words and typos are tolerated, an exact SKU ranks first.",
        ),
        AfterValidator(_blank_to_none),
    ] = None
    category: Annotated[
        Text | None,
        Field(max_length=100, description="Category slug; its sub-categories are included."),
    ] = None
    supplier: Annotated[uuid.UUID | None, Field(description="Supplier company id.")] = None
    supplier_country: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 country of the supplier."),
        AfterValidator(_upper),
    ] = None
    currency: Annotated[
        str | None,
        Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code; use it with a price range."),
        AfterValidator(_upper),
    ] = None
    price_min: Annotated[
        Decimal | None,
        Field(ge=0, max_digits=18, decimal_places=4, description="Lowest unit price, inclusive."),
    ] = None
    price_max: Annotated[
        Decimal | None,
        Field(ge=0, max_digits=18, decimal_places=4, description="Highest unit price, inclusive."),
    ] = None
    quantity: Annotated[
        Decimal | None,
        Field(
            gt=0,
            max_digits=18,
            decimal_places=3,
            description="Price everything at this quantity (raised to each product's MOQ and "
            "rounded up to its pack size). Without it, the price range and the price sorts "
            "use each product's base price (its first tier).",
        ),
    ] = None
    in_stock: Annotated[
        bool,
        Field(description="Only products whose stock covers at least one minimum order."),
    ] = False
    verified_only: Annotated[
        bool,
        Field(
            description="Kept for compatibility: only verified suppliers' products are ever "
            "public, so the results are the same either way."
        ),
    ] = True
    attribute: Annotated[
        list[Annotated[Text, Field(max_length=300)]],
        Field(
            max_length=10,
            description='Attribute filters "key:value" (also written `attr.key=value`); '
            "values of one key are alternatives, different keys must all match.",
        ),
    ] = []


class ProductSearchParams(ProductFilters):
    sort: Annotated[
        SearchSort | None,
        Field(description="Default: relevance when `q` is given, newest otherwise."),
    ] = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT
    cursor: Annotated[
        Text | None, Field(max_length=500, description="`next_cursor` of the page before.")
    ] = None


class SupplierSummary(BaseModel):
    id: uuid.UUID
    name: str
    country: str
    is_verified: bool = True


class CategorySummary(BaseModel):
    id: uuid.UUID
    slug: str
    name: str


class ProductSearchItem(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    supplier: SupplierSummary
    category: CategorySummary | None
    unit: str
    currency: str
    base_price: Money | None = Field(description="Unit price of the first tier.")
    unit_price: Money | None = Field(
        description="Public unit price at `price_quantity`, from the product's tiers."
    )
    price_quantity: Quantity = Field(
        description="The quantity priced: `quantity` (or the MOQ), raised to the MOQ and "
        "rounded up to the pack size."
    )
    moq: Quantity
    order_multiple: Quantity | None
    in_stock: bool = Field(description="The stock covers at least one minimum order.")
    lead_time_days: int
    thumbnail_url: str | None
    created_at: datetime
    your_price: Money | None = Field(
        default=None,
        description="Your company's price-list unit price at `price_quantity`; null when no "
        "list of yours prices this product (you pay `unit_price`) or when anonymous.",
    )


ProductSearchPage = Page[ProductSearchItem]


class CategoryFacet(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    path: str
    parent_id: uuid.UUID | None
    count: int = Field(description="Matching products in this category and its descendants.")


class CountryFacet(BaseModel):
    country: str
    count: int


class PriceBucketFacet(BaseModel):
    currency: str
    min: Money = Field(description="Inclusive lower bound.")
    max: Money | None = Field(description="Exclusive upper bound; null for the last bucket.")
    count: int


class ProductFacets(BaseModel):
    """Counts for the current query and filters. Each facet ignores its own filter, so that
    the alternatives stay visible: category counts ignore `category`, country counts ignore
    `supplier_country`, price buckets ignore `price_min`/`price_max`."""

    total: int = Field(description="Products matching every filter (within the sample).")
    is_exact: bool = Field(
        description="False when more products matched than are counted (10,000): the counts "
        "then describe the first 10,000 matches, not all of them."
    )
    categories: list[CategoryFacet]
    supplier_countries: list[CountryFacet]
    price_buckets: list[PriceBucketFacet]
