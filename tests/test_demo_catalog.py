"""The demo catalog looks real: prices per unit and pack that a buyer would believe,
attributes that fit each product, and pictures that show the product."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.service import leaf_slugs_by_top_level
from marketplace.catalog.schemas import ProductCreate
from marketplace.demo import SUPPLIERS, generate_products, noun_of
from marketplace.demo_catalog import GOODS, RATES, Item, Pack
from marketplace.demo_pictures import ICON_OF_LEAF, ICONS, PALETTE, draw_product


@pytest.fixture
async def catalog(db_session: AsyncSession) -> list[tuple[str, ProductCreate]]:
    """Every supplier's full demo catalog, with each product's supplier currency."""
    leaves = await leaf_slugs_by_top_level(db_session)
    return [
        (spec.currency, product)
        for spec in SUPPLIERS
        for product in generate_products(spec, leaves, 450)
    ]


def _item_and_pack(product: ProductCreate) -> tuple[Item, Pack]:
    assert product.category is not None
    goods = GOODS[product.category]
    noun = noun_of(product.name, product.category)
    item = next(item for item in goods.items if item.noun == noun)
    pack = next(pack for pack in item.packs or goods.packs if pack.unit == product.unit.value)
    return item, pack


def _eur_per_base_unit(currency: str, pack: Pack, price: Decimal) -> float:
    return float(price) / pack.content / RATES[currency]


async def test_every_price_is_believable_for_its_unit(
    catalog: list[tuple[str, ProductCreate]],
) -> None:
    assert len(catalog) == 7 * 450
    for currency, product in catalog:
        item, pack = _item_and_pack(product)
        low, high = item.price
        for tier in product.price_tiers:
            per_unit = _eur_per_base_unit(currency, pack, tier.unit_price)
            # Volume tiers go down to 12 % off; prices are rounded to 4 places.
            assert low * 0.88 * 0.99 - 0.0001 <= per_unit <= high * 1.01, (
                product.name,
                product.unit,
                tier.unit_price,
                currency,
            )


async def test_the_prices_an_audit_found_absurd_are_gone(
    catalog: list[tuple[str, ProductCreate]],
) -> None:
    def prices(noun: str, unit: str | None = None) -> list[float]:
        found = [
            float(product.price_tiers[0].unit_price) / RATES[currency]
            for currency, product in catalog
            if product.name.startswith(noun) and unit in (None, product.unit.value)
        ]
        assert found, noun
        return found

    assert min(prices("Work jacket")) >= 30  # was 0.21 EUR
    assert min(prices("Frequency inverter")) >= 150  # was 5.00 EUR
    for noun in ("Hex bolt", "Carriage bolt", "Flange bolt"):
        boxes = prices(noun, "box")
        assert min(boxes) >= 4  # a box of 100 bolts; was 0.0991 GBP
    assert min(prices("Business laptop")) >= 600


async def test_attributes_fit_the_product(catalog: list[tuple[str, ProductCreate]]) -> None:
    for _currency, product in catalog:
        assert product.category is not None
        item, _pack = _item_and_pack(product)
        allowed = {**GOODS[product.category].attributes, **(item.attributes or {})}
        attributes = dict(product.attributes)
        assert attributes.pop("origin_country") in {spec.country for spec in SUPPLIERS}
        assert set(attributes) == set(allowed), product.name
        for key, value in attributes.items():
            assert value in allowed[key], (product.name, key, value)
    standards: dict[str, set[str]] = {}
    for _currency, product in catalog:
        if product.category is not None and "standard" in product.attributes:
            standards.setdefault(product.category, set()).add(product.attributes["standard"])
    assert standards["gloves"] <= {"EN 388", "EN ISO 374-5"}
    assert standards["safety-footwear"] == {"EN ISO 20345"}
    assert standards["eye-face-protection"] == {"EN 166"}


async def test_search_words_of_the_demo_catalog_stay(
    catalog: list[tuple[str, ProductCreate]],
) -> None:
    """Search's typo tests look for these words in the demo catalog."""
    names = " ".join(product.name for _currency, product in catalog).lower()
    for word in ("hex bolt", "bolt", "glove", "screw"):
        assert word in names, word


def test_every_category_has_a_drawing_of_its_own() -> None:
    assert set(GOODS) <= set(ICON_OF_LEAF)
    assert set(ICON_OF_LEAF.values()) <= set(ICONS)
    # Different kinds of product look different: far more drawings than two letters.
    assert len(set(ICON_OF_LEAF.values())) >= 40


@pytest.mark.parametrize(("leaf", "noun"), [("bolts", "Hex bolt"), ("gloves", "Nitrile glove")])
def test_a_picture_is_a_drawing_with_the_products_name(leaf: str, noun: str) -> None:
    picture = Image.open(io.BytesIO(draw_product(leaf, noun, 0))).convert("RGB")
    ground, _ink = PALETTE[0]
    drawing = picture.crop((0, 0, 640, 450))
    caption = picture.crop((0, 450, 640, 640))

    def inked(area: Image.Image) -> int:
        colours = area.getcolors(maxcolors=area.width * area.height) or []
        return area.width * area.height - sum(n for n, colour in colours if colour == ground)

    assert inked(drawing) > 15_000  # a shape, not a few letters
    assert inked(caption) > 1_500  # the name is written under it
    other = Image.open(io.BytesIO(draw_product("washers", noun, 0))).convert("RGB")
    assert other.crop((0, 0, 640, 450)).tobytes() != drawing.tobytes()
