"""Request and response bodies of the catalog's products: products, prices, images.

Inputs forbid unknown fields, so that a client can never set what it may not
(`supplier_id`, `is_blocked`, `base_price`): mass assignment is impossible by
construction. Amounts and quantities are `Decimal` end to end. JSON numbers are
accepted only when their decimal text is certain (see `_exact_decimal`); responses
always carry decimal strings.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from babel.numbers import get_territory_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from marketplace.companies.schemas import iso_countries
from marketplace.core.text import MultilineText, Reason, Text

# --- scalar types -----------------------------------------------------------------

# A double carries 15 significant decimal digits faithfully: a JSON number with more
# may already differ from what the client wrote, so it must come as a string.
MAX_EXACT_FLOAT_DIGITS = 15
MAX_TIERS = 20
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY_CHARACTERS = 64
MAX_ATTRIBUTE_VALUE_CHARACTERS = 500
MAX_QUANTITY = Decimal("999999999999999")  # Numeric(18, 3)
MAX_UNIT_PRICE = Decimal("99999999999999")  # Numeric(18, 4)


def _exact_decimal(value: Any) -> Any:
    """JSON numbers arrive as floats; take their shortest decimal text (0.1 -> "0.1"),
    never their binary value, and refuse those whose text may have been rounded."""
    if isinstance(value, bool):
        raise ValueError("must be a number or a decimal string")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        exact = Decimal(repr(value))
        if len(exact.as_tuple().digits) > MAX_EXACT_FLOAT_DIGITS:
            raise ValueError(
                f"send numbers with more than {MAX_EXACT_FLOAT_DIGITS} digits as a decimal string"
            )
        return exact
    return value


def plain_decimal(value: Decimal) -> str:
    """12.000 -> "12", 2.500 -> "2.5", 1E+2 -> "100": never scientific notation."""
    return format(value.normalize(), "f")


def money_text(value: Decimal) -> str:
    """Unit prices and totals: at least two decimals ("12.50", "0.0125")."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        normalized = normalized.quantize(Decimal("0.01"))
    return format(normalized, "f")


QuantityIn = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    Field(gt=0, le=MAX_QUANTITY, decimal_places=3, allow_inf_nan=False),
]
StockIn = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    Field(ge=0, le=MAX_QUANTITY, decimal_places=3, allow_inf_nan=False),
]
UnitPriceIn = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    Field(gt=0, le=MAX_UNIT_PRICE, decimal_places=4, allow_inf_nan=False),
]
QuantityOut = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str)]
MoneyOut = Annotated[Decimal, PlainSerializer(money_text, return_type=str)]


Sku = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
]
ProductName = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
]
ProductDescription = Annotated[MultilineText, StringConstraints(max_length=20_000)]
AttributeKey = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ATTRIBUTE_KEY_CHARACTERS),
]
AttributeValue = Annotated[
    Text,
    StringConstraints(strip_whitespace=True, max_length=MAX_ATTRIBUTE_VALUE_CHARACTERS),
]
Attributes = Annotated[dict[AttributeKey, AttributeValue], Field(max_length=MAX_ATTRIBUTES)]
# A category is named by its slug or its id.
CategoryRef = Annotated[
    Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
AltText = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=300)]


class Unit(StrEnum):
    """Units of sale. Countable units are sold in whole numbers only."""

    PIECE = "piece"
    PAIR = "pair"
    SET = "set"
    DOZEN = "dozen"
    PACK = "pack"
    BOX = "box"
    CARTON = "carton"
    BAG = "bag"
    ROLL = "roll"
    SHEET = "sheet"
    PALLET = "pallet"
    KG = "kg"
    G = "g"
    T = "t"
    LB = "lb"
    M = "m"
    CM = "cm"
    MM = "mm"
    M2 = "m2"
    M3 = "m3"
    L = "l"
    ML = "ml"

    @property
    def is_countable(self) -> bool:
        return self not in _MEASURED_UNITS


_MEASURED_UNITS = frozenset(
    {Unit.KG, Unit.G, Unit.T, Unit.LB, Unit.M, Unit.CM, Unit.MM, Unit.M2, Unit.M3, Unit.L, Unit.ML}
)


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


@cache
def iso_currencies() -> frozenset[str]:
    """ISO 4217 codes of currencies that are legal tender somewhere today (CLDR)."""
    today = datetime.now(UTC).date()
    codes: set[str] = set()
    for territory in iso_countries():
        codes.update(get_territory_currencies(territory, today, tender=True))
    return frozenset(codes)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in iso_currencies():
        raise ValueError("not an ISO 4217 currency code in use")
    return code


Currency = Annotated[Text, StringConstraints(max_length=8), AfterValidator(_currency)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- prices -----------------------------------------------------------------------


class TierIn(Input):
    min_qty: QuantityIn
    unit_price: UnitPriceIn


class TierRead(BaseModel):
    min_qty: QuantityOut
    unit_price: MoneyOut


class PriceQuoteRead(BaseModel):
    """What `quantity` units cost the acting buyer: from its price list or the tiers."""

    quantity: QuantityOut
    unit_price: MoneyOut
    line_total: MoneyOut
    currency: str
    source: Literal["tiers", "price_list"]
    tier_min_qty: QuantityOut
    price_list_id: uuid.UUID | None = None


# --- products ---------------------------------------------------------------------

Tiers = Annotated[list[TierIn], Field(min_length=1, max_length=MAX_TIERS)]


class ProductCreate(Input):
    sku: Sku
    name: ProductName
    description: ProductDescription = ""
    category: CategoryRef | None = None
    unit: Unit
    currency: Currency
    price_tiers: Tiers
    moq: QuantityIn = Decimal(1)
    order_multiple: QuantityIn | None = None
    stock: StockIn = Decimal(0)
    lead_time_days: Annotated[int, Field(ge=0, le=365)] = 0
    attributes: Attributes = Field(default_factory=dict)
    status: ProductStatus = ProductStatus.DRAFT
    parent_id: uuid.UUID | None = None


class ProductUpdate(Input):
    """PATCH: absent fields stay; `price_tiers` replaces the whole table; `null` clears
    only `category`, `order_multiple` and `parent_id`."""

    _required: ClassVar[tuple[str, ...]] = (
        "sku",
        "name",
        "description",
        "unit",
        "currency",
        "price_tiers",
        "moq",
        "stock",
        "lead_time_days",
        "attributes",
        "status",
    )

    sku: Sku | None = None
    name: ProductName | None = None
    description: ProductDescription | None = None
    category: CategoryRef | None = None
    unit: Unit | None = None
    currency: Currency | None = None
    price_tiers: Tiers | None = None
    moq: QuantityIn | None = None
    order_multiple: QuantityIn | None = None
    stock: StockIn | None = None
    lead_time_days: Annotated[int, Field(ge=0, le=365)] | None = None
    attributes: Attributes | None = None
    status: ProductStatus | None = None
    parent_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> ProductUpdate:
        for name in self._required:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProductCategory(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    path: str


class SupplierSummary(BaseModel):
    id: uuid.UUID
    name: str
    country: str
    verification_status: str


class ImageUrls(BaseModel):
    thumb: str
    medium: str
    large: str


class ImageRead(BaseModel):
    id: uuid.UUID
    position: int
    alt_text: str
    content_type: str
    width: int
    height: int
    urls: ImageUrls


class VariantRead(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    attributes: dict[str, str]
    status: ProductStatus
    is_family_head: bool


class Moderation(BaseModel):
    is_blocked: bool
    blocked_reason: str | None


class ProductRead(BaseModel):
    """A product's detail. `your_price` is the acting buyer's price at the MOQ;
    `moderation` is shown only to the supplier's members and staff."""

    id: uuid.UUID
    sku: str
    name: str
    description: str
    category: ProductCategory | None
    unit: Unit
    currency: str
    price_tiers: list[TierRead]
    base_price: MoneyOut | None
    moq: QuantityOut
    order_multiple: QuantityOut | None
    stock: QuantityOut
    in_stock: bool = Field(description="The stock covers at least one minimum order.")
    lead_time_days: int
    attributes: dict[str, str]
    status: ProductStatus
    parent_id: uuid.UUID | None
    variants: list[VariantRead]
    images: list[ImageRead]
    supplier: SupplierSummary
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    your_price: PriceQuoteRead | None = None
    moderation: Moderation | None = None
    version: int = Field(
        description='Raised by every change; the `ETag` is `"<version>"` (send it as `If-Match`).'
    )


class OwnProductItem(BaseModel):
    """One product of your own catalog, whatever its status, with what a stock and price
    editor needs (no detail read per row)."""

    id: uuid.UUID
    sku: str
    name: str
    status: ProductStatus
    unit: Unit
    currency: str
    price_tiers: list[TierRead]
    base_price: MoneyOut | None
    moq: QuantityOut
    order_multiple: QuantityOut | None
    stock: QuantityOut
    in_stock: bool = Field(description="The stock covers at least one minimum order.")
    lead_time_days: int
    moderation: Moderation
    created_at: datetime
    updated_at: datetime
    version: int = Field(description='The product\'s `ETag` is `"<version>"`.')


class BlockRequest(Input):
    reason: Reason
