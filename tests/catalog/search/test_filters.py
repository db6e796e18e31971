"""Each filter, and facets that agree with the filters."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.catalog.search.conftest import Catalog, search, search_names, walk


async def names_of(client: httpx.AsyncClient, catalog: Catalog, **params: object) -> set[str]:
    return set(catalog.names([item["id"] for item in await walk(client, **params)]))


async def test_category_includes_its_descendants(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert await names_of(client, catalog, category="test-tools") == {
        "hex_key",
        "impact_driver",
        "drill",
    }
    assert await names_of(client, catalog, category="test-power-tools") == {
        "impact_driver",
        "drill",
    }
    assert await names_of(client, catalog, category="test-drills") == {"drill"}
    assert await names_of(client, catalog, category="test-safety") == {"helmet", "gloves"}


async def test_supplier_and_supplier_country(client: httpx.AsyncClient, catalog: Catalog) -> None:
    de = catalog.suppliers["de"]
    assert await names_of(client, catalog, supplier=str(de.id)) == {
        "hex_bolt",
        "drill",
        "helmet",
    }
    assert await names_of(client, catalog, supplier_country="fr") == {
        "hex_bolt_long",
        "impact_driver",
    }
    assert await names_of(client, catalog, supplier_country="CN", q="hex") == {"hex_key"}


async def test_price_range_uses_the_base_price(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await names_of(client, catalog, price_min="4.50", price_max="89") == {
        "hex_key",
        "drill",
        "helmet",
    }
    assert await names_of(client, catalog, price_max="0.12") == {"hex_bolt"}
    assert await names_of(client, catalog, price_min="100") == {"impact_driver"}


async def test_price_range_at_a_quantity_uses_the_tiers(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    # at 10 units the drill costs 79.00 (second tier), the bolts are priced at their MOQ
    assert await names_of(client, catalog, quantity="10", price_min="70", price_max="80") == {
        "drill"
    }
    assert await names_of(client, catalog, quantity="1000", price_max="0.10") == {"hex_bolt"}


async def test_items_show_the_price_at_the_quantity(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    items = {item["sku"]: item for item in (await search(client, quantity="15"))["items"]}
    drill, gloves, bolt = items["DR-18"], items["GL-1"], items["HX-100"]
    assert (drill["price_quantity"], drill["unit_price"], drill["base_price"]) == (
        "15",
        "79.00",
        "89.00",
    )
    # gloves come in packs of 10: 15 is rounded up to 20
    assert (gloves["price_quantity"], gloves["unit_price"]) == ("20", "3.20")
    # below the MOQ: priced at the MOQ
    assert (bolt["price_quantity"], bolt["unit_price"], bolt["moq"]) == ("100", "0.12", "100")
    default = {item["sku"]: item for item in (await search(client))["items"]}
    assert (default["HX-100"]["price_quantity"], default["HX-100"]["unit_price"]) == (
        "100",
        "0.12",
    )


async def test_in_stock_means_stock_covers_the_moq(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    in_stock = await names_of(client, catalog, in_stock="true")
    assert in_stock == set(catalog.products) - {"hex_bolt_long", "impact_driver"}
    items = {item["sku"]: item for item in (await search(client))["items"]}
    assert items["IMP-2"]["in_stock"] is False
    assert items["DR-18"]["in_stock"] is True
    assert await names_of(client, catalog, in_stock="false") == set(catalog.products)


async def test_attribute_filters(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await names_of(client, catalog, **{"attr.color": "blue"}) == {"drill", "gloves"}
    assert await names_of(client, catalog, attribute="color:blue") == {"drill", "gloves"}
    # two keys: both must match
    assert await names_of(client, catalog, **{"attr.color": "blue", "attr.size": "L"}) == {"gloves"}
    # numbers match their JSON number
    assert await names_of(client, catalog, **{"attr.voltage": "18"}) == {"drill"}
    assert await names_of(client, catalog, attribute="pieces:9") == {"hex_key"}


async def test_values_of_one_attribute_are_alternatives(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    response = await client.get(
        "/api/v1/products", params=[("attr.color", "red"), ("attr.color", "black")]
    )
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["items"]]
    assert set(catalog.names(ids)) == {"impact_driver", "hex_key"}


async def test_currency_filter(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await names_of(client, catalog, currency="usd") == {"hex_key", "gloves"}


async def test_filters_combine_with_words(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert await search_names(
        client, catalog, q="hex", category="test-fasteners", in_stock="true"
    ) == ["hex_bolt"]


async def test_result_item_shape(client: httpx.AsyncClient, catalog: Catalog) -> None:
    item = (await search(client, q="DR-18"))["items"][0]
    assert item == {
        "id": str(catalog.products["drill"]),
        "sku": "DR-18",
        "name": "Cordless drill 18V",
        "supplier": {
            "id": str(catalog.suppliers["de"].id),
            "name": "Rhein Industrie GmbH",
            "country": "DE",
            "is_verified": True,
        },
        "category": {
            "id": str(catalog.categories["test-drills"]),
            "slug": "test-drills",
            "name": "Test Drills",
        },
        "unit": "piece",
        "currency": "EUR",
        "base_price": "89.00",
        "unit_price": "89.00",
        "price_quantity": "1",
        "moq": "1",
        "order_multiple": None,
        "in_stock": True,
        "lead_time_days": 3,
        "thumbnail_url": None,
        "created_at": item["created_at"],
        "your_price": None,
    }


# -- facets -----------------------------------------------------------------------------


async def facets(client: httpx.AsyncClient, **params: object) -> dict[str, object]:
    response = await client.get("/api/v1/products/facets", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "hex"}, {"supplier_country": "DE"}, {"price_max": "50"}, {"in_stock": "true"}],
)
async def test_category_facet_counts_equal_the_filtered_results(
    client: httpx.AsyncClient, catalog: Catalog, query: dict[str, str]
) -> None:
    body = await facets(client, **query)
    assert body["is_exact"] is True
    categories = body["categories"]
    assert isinstance(categories, list)
    assert categories, "the fixture has products in categories"
    for entry in categories:
        items = await walk(client, **query, category=entry["slug"])
        assert entry["count"] == len(items), entry["slug"]
    assert body["total"] == len(await walk(client, **query))


async def test_country_facet_counts_equal_the_filtered_results(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = await facets(client, category="test-tools")
    countries = body["supplier_countries"]
    assert countries == [
        {"country": "CN", "count": 1},
        {"country": "DE", "count": 1},
        {"country": "FR", "count": 1},
    ]
    for entry in countries:
        items = await walk(client, category="test-tools", supplier_country=entry["country"])
        assert entry["count"] == len(items)


async def test_price_bucket_counts_equal_the_filtered_results(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = await facets(client)
    buckets = body["price_buckets"]
    assert isinstance(buckets, list)
    assert sum(bucket["count"] for bucket in buckets) == len(catalog.products)
    for bucket in buckets:
        items = await walk(client, currency=bucket["currency"], price_min=bucket["min"])
        inside = [
            item
            for item in items
            if bucket["max"] is None or Decimal(item["base_price"]) < Decimal(bucket["max"])
        ]
        assert bucket["count"] == len(inside), bucket


async def test_each_facet_ignores_its_own_filter(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = await facets(client, category="test-drills", supplier_country="DE", price_max="100")
    assert body["total"] == 1  # the drill
    # categories ignore category=drills: every category with a German product up to 100
    counts = {entry["slug"]: entry["count"] for entry in body["categories"]}
    assert counts == {
        "test-tools": 1,
        "test-power-tools": 1,
        "test-drills": 1,
        "test-fasteners": 1,
        "test-safety": 1,
    }
    # countries ignore supplier_country=DE
    assert {entry["country"] for entry in body["supplier_countries"]} == {"DE"}
    # prices ignore price_max: the drill's bucket
    assert [(b["currency"], b["min"], b["max"], b["count"]) for b in body["price_buckets"]] == [
        ("EUR", "50.00", "100.00", 1)
    ]


async def test_category_facet_rolls_up_the_tree(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = await facets(client, q="cordless")
    assert [(entry["slug"], entry["count"]) for entry in body["categories"]] == [
        ("test-tools", 1),
        ("test-power-tools", 1),
        ("test-drills", 1),
    ]
    paths = [entry["path"] for entry in body["categories"]]
    assert paths == [
        "test-tools",
        "test-tools/test-power-tools",
        "test-tools/test-power-tools/test-drills",
    ]
