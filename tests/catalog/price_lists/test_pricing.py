"""The one pricing function, property-based: tiers, MOQ, pack multiples, price-list
overrides and rounding. Amounts are Decimals end to end; no float ever appears."""

from __future__ import annotations

import itertools
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from marketplace.catalog.price_lists import service as pricing
from marketplace.catalog.price_lists.errors import (
    InvalidPriceTiers,
    QuantityBelowMinimum,
    QuantityNotMultiple,
    QuantityNotPositive,
    QuantityNotWhole,
)
from marketplace.catalog.price_lists.models import PriceListTiers, Tier
from marketplace.catalog.schemas import money_text, plain_decimal

CENT = Decimal("0.01")

quantities = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal("1000000"), places=3, allow_nan=False
)
whole_quantities = st.integers(min_value=1, max_value=1_000_000).map(Decimal)
unit_prices = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4, allow_nan=False
)


@st.composite
def tier_tables(draw: st.DrawFn, max_tiers: int = 6) -> list[Tier]:
    """Valid tables: strictly ascending min_qty, prices that usually fall with volume
    (not required: pricing must not assume it)."""
    count = draw(st.integers(min_value=1, max_value=max_tiers))
    minimums = sorted(set(draw(st.lists(whole_quantities, min_size=count, max_size=count))))
    return [Tier(min_qty=minimum, unit_price=draw(unit_prices)) for minimum in minimums]


@given(tiers=tier_tables(), quantity=whole_quantities)
def test_the_tier_is_the_largest_minimum_not_above_the_quantity(
    tiers: list[Tier], quantity: Decimal
) -> None:
    moq = tiers[0].min_qty
    assume(quantity >= moq)
    result = pricing.quote(quantity, moq=moq, order_multiple=None, tiers=tiers)
    applicable = [tier for tier in tiers if tier.min_qty <= quantity]
    assert result.tier_min_qty == max(tier.min_qty for tier in applicable)
    assert result.unit_price == next(
        t.unit_price for t in tiers if t.min_qty == result.tier_min_qty
    )
    assert result.source == "tiers"
    assert result.price_list_id is None


@given(tiers=tier_tables(), quantities=st.lists(whole_quantities, min_size=2, max_size=5))
def test_tier_selection_is_monotonic_in_the_quantity(
    tiers: list[Tier], quantities: list[Decimal]
) -> None:
    moq = tiers[0].min_qty
    chosen = [
        pricing.quote(q, moq=moq, order_multiple=None, tiers=tiers).tier_min_qty
        for q in sorted(quantities)
        if q >= moq
    ]
    assert chosen == sorted(chosen)


@given(tiers=tier_tables(), quantity=quantities)
def test_line_total_is_unit_times_quantity_rounded_half_up_to_cents(
    tiers: list[Tier], quantity: Decimal
) -> None:
    moq = Decimal("0.001")
    tiers = [Tier(min_qty=moq, unit_price=tiers[0].unit_price), *tiers[1:]]
    assume(all(a.min_qty < b.min_qty for a, b in itertools.pairwise(tiers)))
    result = pricing.quote(quantity, moq=moq, order_multiple=None, tiers=tiers)
    exact = result.unit_price * quantity
    assert result.line_total == exact.quantize(CENT, rounding=ROUND_HALF_UP)
    assert isinstance(result.line_total, Decimal)
    assert abs(result.line_total - exact) <= Decimal("0.005")
    assert result.line_total.as_tuple().exponent == -2


@given(
    multiple=st.integers(min_value=1, max_value=500).map(Decimal),
    packs=st.integers(min_value=1, max_value=1000),
    offset=st.integers(min_value=1, max_value=499).map(Decimal),
)
def test_pack_multiples(multiple: Decimal, packs: int, offset: Decimal) -> None:
    moq = multiple
    tiers = [Tier(min_qty=moq, unit_price=Decimal("1.25"))]
    ok = pricing.quote(multiple * packs, moq=moq, order_multiple=multiple, tiers=tiers)
    assert ok.quantity == multiple * packs
    assume(offset % multiple != 0)
    with pytest.raises(QuantityNotMultiple):
        pricing.quote(multiple * packs + offset, moq=moq, order_multiple=multiple, tiers=tiers)


@given(moq=whole_quantities, below=st.integers(min_value=1, max_value=1000).map(Decimal))
def test_below_the_moq_is_refused(moq: Decimal, below: Decimal) -> None:
    assume(moq - below > 0)
    tiers = [Tier(min_qty=Decimal(1), unit_price=Decimal("2"))]
    with pytest.raises(QuantityBelowMinimum):
        pricing.quote(moq - below, moq=moq, order_multiple=None, tiers=tiers)


@pytest.mark.parametrize("quantity", [Decimal(0), Decimal(-1), Decimal("-0.001")])
def test_zero_and_negative_quantities_are_refused(quantity: Decimal) -> None:
    tiers = [Tier(min_qty=Decimal(1), unit_price=Decimal("2"))]
    with pytest.raises(QuantityNotPositive):
        pricing.quote(quantity, moq=Decimal(1), order_multiple=None, tiers=tiers)


def test_countable_units_are_sold_whole() -> None:
    tiers = [Tier(min_qty=Decimal(1), unit_price=Decimal("2"))]
    with pytest.raises(QuantityNotWhole):
        pricing.quote(
            Decimal("2.5"), moq=Decimal(1), order_multiple=None, tiers=tiers, whole_unit="piece"
        )
    measured = pricing.quote(Decimal("2.5"), moq=Decimal(1), order_multiple=None, tiers=tiers)
    assert measured.line_total == Decimal("5.00")


@given(tiers=tier_tables(), listed=tier_tables(max_tiers=3), quantity=whole_quantities)
def test_a_price_list_overrides_from_its_first_tier_and_falls_back_below_it(
    tiers: list[Tier], listed: list[Tier], quantity: Decimal
) -> None:
    moq = tiers[0].min_qty
    assume(quantity >= moq)
    price_list = PriceListTiers(price_list_id=uuid.uuid4(), tiers=listed)
    result = pricing.quote(
        quantity, moq=moq, order_multiple=None, tiers=tiers, price_list=price_list
    )
    public = pricing.quote(quantity, moq=moq, order_multiple=None, tiers=tiers)
    if quantity >= listed[0].min_qty:
        assert result.source == "price_list"
        assert result.price_list_id == price_list.price_list_id
        assert result.unit_price == pricing.tier_for(listed, quantity).unit_price  # type: ignore[union-attr]
    else:
        assert result == public


@settings(max_examples=200)
@given(tiers=st.lists(st.tuples(whole_quantities, unit_prices), min_size=1, max_size=6))
def test_tier_validation_accepts_exactly_the_ascending_positive_tables(
    tiers: list[tuple[Decimal, Decimal]],
) -> None:
    table = [Tier(min_qty=q, unit_price=p) for q, p in tiers]
    moq = max(q for q, _ in tiers)
    ascending = all(a.min_qty < b.min_qty for a, b in itertools.pairwise(table))
    if ascending:
        pricing.validate_tiers(table, moq)
    else:
        with pytest.raises(InvalidPriceTiers):
            pricing.validate_tiers(table, moq)
    # A first tier above the MOQ is never valid.
    with pytest.raises(InvalidPriceTiers):
        pricing.validate_tiers(table, table[0].min_qty - Decimal("0.001"))


def test_the_float_artefact_case_stays_exact() -> None:
    tiers = [Tier(min_qty=Decimal(1), unit_price=Decimal("0.1"))]
    result = pricing.quote(Decimal(3), moq=Decimal(1), order_multiple=None, tiers=tiers)
    assert result.line_total == Decimal("0.30")
    assert money_text(result.line_total) == "0.30"
    assert money_text(Decimal("0.1") + Decimal("0.2")) == "0.30"
    # Half-up, not banker's rounding: 0.125 -> 0.13, 0.135 -> 0.14.
    for unit_price, expected in (("0.125", "0.13"), ("0.135", "0.14"), ("0.0049", "0.00")):
        quoted = pricing.quote(
            Decimal(1),
            moq=Decimal(1),
            order_multiple=None,
            tiers=[Tier(min_qty=Decimal(1), unit_price=Decimal(unit_price))],
        )
        assert money_text(quoted.line_total) == expected


@given(value=st.decimals(min_value=Decimal("0"), max_value=Decimal("1e12"), places=4))
def test_decimal_text_is_never_scientific_and_round_trips(value: Decimal) -> None:
    for text in (plain_decimal(value), money_text(value)):
        assert "E" not in text.upper()
        assert Decimal(text) == value
