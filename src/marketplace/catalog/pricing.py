"""The one pricing function: every price a buyer sees or pays comes from `quote()`.

Resolution: the buyer's price list (if one applies to the product and has a tier at
or below the quantity) -> the product's own tiers -> the tier with the largest
`min_qty` not above the quantity. Amounts are Decimals throughout; line totals are
rounded half-up to cents, unit prices are kept at their stored precision.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from marketplace.catalog.errors import (
    InvalidPriceTiers,
    QuantityBelowMinimum,
    QuantityNotMultiple,
    QuantityNotPositive,
    QuantityNotWhole,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Tier:
    min_qty: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class PriceListTiers:
    price_list_id: uuid.UUID
    tiers: Sequence[Tier]


@dataclass(frozen=True)
class PriceQuote:
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal
    source: Literal["tiers", "price_list"]
    tier_min_qty: Decimal
    price_list_id: uuid.UUID | None = None


def tier_errors(tiers: Sequence[Tier], moq: Decimal) -> list[dict[str, object]]:
    """Problems with a tier table, as `errors[]` entries (empty when valid)."""
    errors: list[dict[str, object]] = []

    def error(index: int | None, field: str, message: str) -> None:
        location: list[object] = ["body", "price_tiers"]
        if index is not None:
            location += [index, field]
        errors.append({"loc": location, "msg": message, "type": "value_error"})

    if not tiers:
        error(None, "", "at least one price tier is required")
        return errors
    for index, tier in enumerate(tiers):
        if tier.min_qty <= 0:
            error(index, "min_qty", "min_qty must be greater than zero")
        if tier.unit_price <= 0:
            error(index, "unit_price", "unit_price must be greater than zero")
        if index and tier.min_qty <= tiers[index - 1].min_qty:
            error(index, "min_qty", "min_qty must be strictly ascending")
    if tiers[0].min_qty > moq:
        error(0, "min_qty", "the first tier must start at or below the minimum order quantity")
    return errors


def validate_tiers(tiers: Sequence[Tier], moq: Decimal) -> None:
    errors = tier_errors(tiers, moq)
    if errors:
        raise InvalidPriceTiers(errors=errors)


def check_quantity(
    quantity: Decimal,
    moq: Decimal,
    order_multiple: Decimal | None,
    *,
    whole_unit: str | None = None,
) -> None:
    """Raise the 422 problem for a quantity that cannot be ordered. `whole_unit` names
    a countable unit (piece, box) whose quantities must be whole numbers."""
    if quantity <= 0:
        raise QuantityNotPositive()
    if whole_unit is not None and quantity != quantity.to_integral_value():
        raise QuantityNotWhole(quantity=_plain(quantity), unit=whole_unit)
    if quantity < moq:
        raise QuantityBelowMinimum(quantity=_plain(quantity), moq=_plain(moq))
    if order_multiple is not None and quantity % order_multiple != 0:
        raise QuantityNotMultiple(quantity=_plain(quantity), multiple=_plain(order_multiple))


def tier_for(tiers: Sequence[Tier], quantity: Decimal) -> Tier | None:
    """The applicable tier: the largest min_qty not above the quantity."""
    best: Tier | None = None
    for tier in tiers:
        if tier.min_qty <= quantity and (best is None or tier.min_qty > best.min_qty):
            best = tier
    return best


def quote(
    quantity: Decimal,
    *,
    moq: Decimal,
    order_multiple: Decimal | None,
    tiers: Sequence[Tier],
    price_list: PriceListTiers | None = None,
    whole_unit: str | None = None,
) -> PriceQuote:
    """Price `quantity` units for one buyer. Raises a 422 problem for a quantity that
    cannot be ordered (below MOQ, off the pack size, not positive, a fraction of a
    countable `whole_unit`)."""
    check_quantity(quantity, moq, order_multiple, whole_unit=whole_unit)
    if price_list is not None:
        listed = tier_for(price_list.tiers, quantity)
        if listed is not None:
            return _priced(quantity, listed, "price_list", price_list.price_list_id)
    tier = tier_for(tiers, quantity)
    if tier is None:
        raise InvalidPriceTiers()
    return _priced(quantity, tier, "tiers", None)


def _priced(
    quantity: Decimal,
    tier: Tier,
    source: Literal["tiers", "price_list"],
    price_list_id: uuid.UUID | None,
) -> PriceQuote:
    return PriceQuote(
        quantity=quantity,
        unit_price=tier.unit_price,
        line_total=(tier.unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP),
        source=source,
        tier_min_qty=tier.min_qty,
        price_list_id=price_list_id,
    )


def _plain(value: Decimal) -> str:
    """12.000 -> "12", 2.500 -> "2.5": quantities as people write them."""
    normalized = value.normalize()
    return format(normalized, "f")
