"""Relevance on a fixed catalog: exact SKU first, typos and partial words still find."""

from __future__ import annotations

import httpx

from tests.catalog.search.conftest import Catalog, search, search_names


async def test_exact_sku_ranks_first_then_sku_prefix_then_text(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    names = await search_names(client, catalog, q="HX-100")
    # HX-100 exactly, HX-1000 by SKU prefix, the key set by the words "hx" and "100"
    assert names == ["hex_bolt", "hex_bolt_long", "hex_key"]


async def test_sku_match_ignores_case(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert (await search_names(client, catalog, q="dr-18"))[0] == "drill"


async def test_misspelt_word_finds_the_product(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await search_names(client, catalog, q="cordles") == ["drill"]
    assert await search_names(client, catalog, q="nitrle glovs") == ["gloves"]
    assert await search_names(client, catalog, q="helmt") == ["helmet"]


async def test_partial_word_finds_the_product(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await search_names(client, catalog, q="cordl") == ["drill"]
    assert await search_names(client, catalog, q="nitri") == ["gloves"]
    assert set(await search_names(client, catalog, q="hex bo")) == {
        "hex_bolt",
        "hex_bolt_long",
        "hex_key",
    }


async def test_every_word_must_match(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await search_names(client, catalog, q="hex bolt M10") == ["hex_bolt_long"]
    assert await search_names(client, catalog, q="cordless gloves") == []


async def test_attributes_and_description_are_searched(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert await search_names(client, catalog, q="ultramarine") == ["helmet"]
    assert await search_names(client, catalog, q="hexagon") == ["hex_bolt"]
    assert await search_names(client, catalog, q="disposable") == ["gloves"]


async def test_name_outranks_description(client: httpx.AsyncClient, catalog: Catalog) -> None:
    # "driver" is in the impact driver's name (weight A) and the drill's description (C)
    assert await search_names(client, catalog, q="driver") == ["impact_driver", "drill"]


async def test_words_that_match_nothing_find_nothing(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = await search(client, q="zzzzqqq")
    assert body == {"items": [], "next_cursor": None}
    assert (await search(client, q="!!! ???"))["items"] == []


async def test_query_syntax_characters_are_plain_text(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    for query in ("drill & !bolt", "'; DROP TABLE products; --", "a:* | b", "\\", "(((", "%_%"):
        response = await client.get("/api/v1/products", params={"q": query})
        assert response.status_code == 200, (query, response.text)


async def test_relevance_is_the_default_sort_with_words(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert await search_names(client, catalog, q="HX-100") == await search_names(
        client, catalog, q="HX-100", sort="relevance"
    )
