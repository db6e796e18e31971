"""Typo tolerance over the demo catalog (`marketplace demo`'s products, as it generates
them): one- and two-letter typos and swapped letters find the product meant, ranked
first, alone or among other words; words typed right still rank their exact matches
first."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace import demo
from marketplace.catalog.categories.service import leaf_slugs_by_top_level
from marketplace.catalog.imports.service import add_new_products
from tests.factories import make_company

# (query, the words the first result's name must contain)
MISSPELLINGS = [
    # as reported
    ("blot", "bolt"),
    ("hex blot", "hex bolt"),
    ("glvoes", "glove"),
    ("scerw", "screw"),
    ("glovse", "glove"),
    # swapped letters
    ("lcok nut", "lock nut"),
    ("hxe bolt", "hex bolt"),
    ("wign nut", "wing nut"),
    ("relya", "relay"),
    ("sfaety glasses", "safety glasses"),
    ("netwrok switch", "network switch"),
    ("citirc acid", "citric acid"),
    ("led panle", "led panel"),
    ("steel tueb", "steel tube"),
    # a letter left out
    ("cordles drill", "cordless drill"),
    ("angle grindr", "angle grinder"),
    ("flang bolt", "flange bolt"),
    ("ofice chair", "office chair"),
    ("coper tube", "copper tube"),
    ("rack sever", "rack server"),
    # a letter too many
    ("wassher", "washer"),
    ("nitrilee glove", "nitrile glove"),
    ("circuitt breaker", "circuit breaker"),
    ("deegreaser", "degreaser"),
    # a letter changed
    ("tape measuro", "tape measure"),
    ("digital calipar", "digital caliper"),
    ("bubble warp", "bubble wrap"),
    # two typos in one longer word, or one in each of two words
    ("thredloker", "threadlocker"),
    ("scrwdrivr set", "screwdriver set"),
    ("hydrolic hose", "hydraulic hose"),
    ("frequncy invertr", "frequency inverter"),
    ("circiut braeker", "circuit breaker"),
    ("carrige blot", "carriage bolt"),
    ("portland cemnet", "portland cement"),
    # words in another order, an earlier word cut short
    ("rivet blnd", "blind rivet"),
    ("bolt hex", "hex bolt"),
]


@pytest.fixture
async def demo_catalog(db_session: AsyncSession) -> None:
    """The demo's suppliers with the products `marketplace demo` gives them, written by
    the demo's own path (`add_new_products`) into this test's transaction."""
    leaves = await leaf_slugs_by_top_level(db_session)
    for spec in demo.SUPPLIERS:
        supplier = await make_company(
            db_session,
            name=spec.name,
            kind="supplier",
            country=spec.country,
            verification_status="verified",
        )
        products = demo.generate_products(spec, leaves, demo.DEFAULT_PRODUCTS_PER_SUPPLIER)
        await add_new_products(db_session, supplier.id, products)


def has_words(name: str, words: str) -> bool:
    return re.search(rf"\b{re.escape(words)}\b", name, re.IGNORECASE) is not None


async def names(client: httpx.AsyncClient, query: str, limit: int = 20) -> list[str]:
    response = await client.get("/api/v1/products", params={"q": query, "limit": limit})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [item["name"] for item in items]


async def test_misspellings_find_the_product_meant_first(
    client: httpx.AsyncClient, demo_catalog: None
) -> None:
    missed = []
    for query, meant in MISSPELLINGS:
        found = await names(client, query, limit=1)
        if not found or not has_words(found[0], meant):
            missed.append((query, meant, found))
    assert missed == []


async def test_words_typed_right_rank_first_and_a_last_word_may_be_unfinished(
    client: httpx.AsyncClient, demo_catalog: None
) -> None:
    # "screw" is also the start of "screwdriver": screws first, then screwdrivers.
    found = await names(client, "screw", limit=100)
    screws = [has_words(name, "screw") for name in found]
    assert screws[0]
    assert not screws[-1]
    assert screws == sorted(screws, reverse=True)
    assert any(has_words(name, "screwdriver") for name in found)
    # A dictionary word is never corrected: "boot" finds boots, not bolts.
    boots = await names(client, "boot", limit=100)
    assert boots
    assert all(has_words(name, "boot") for name in boots)
    # A typo between words ranks the likeliest first: "blot" is "bolt" with two letters
    # swapped, or "boot" or "blow" (as in "blow moulding") with one changed: every bolt,
    # then the others.
    found = await names(client, "blot", limit=100)
    bolts = [has_words(name, "bolt") for name in found]
    assert all(any(has_words(name, word) for word in ("bolt", "boot", "blow")) for name in found)
    assert bolts[0]
    assert bolts == sorted(bolts, reverse=True)
    # Only the last word may be unfinished: "hex bo" is hex bolts first, nothing
    # corrected (every name has a word starting with "bo"); "fre" followed by another
    # word is finished, and corrected.
    found = await names(client, "hex bo", limit=10)
    assert has_words(found[0], "hex bolt")
    assert all(re.search(r"\bbo", name, re.IGNORECASE) for name in found)
    found = await names(client, "fre door", limit=1)
    assert found
    assert has_words(found[0], "fire door")
