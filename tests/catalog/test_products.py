"""Products over HTTP: create, read, change, archive; validation; variants."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import PriceTier, Product
from tests.catalog.conftest import (
    Catalog,
    assert_problem,
    create_product,
    product_body,
    snapshot,
)


async def test_supplier_creates_a_product_and_reads_it_back(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    created = await create_product(
        client, owner, category=str(catalog.category_id), sku="BOLT-M8-40"
    )
    assert created["sku"] == "BOLT-M8-40"
    assert created["price_tiers"] == [
        {"min_qty": "100", "unit_price": "0.25"},
        {"min_qty": "1000", "unit_price": "0.19"},
    ]
    assert created["base_price"] == "0.25"
    assert created["moq"] == "100"
    assert created["order_multiple"] == "50"
    assert created["stock"] == "12000"
    assert created["in_stock"] is True
    assert created["category"]["id"] == str(catalog.category_id)
    assert created["supplier"] == {
        "id": str(catalog.supplier_id),
        "name": "Acme Fasteners",
        "country": "DE",
        "verification_status": "verified",
    }
    assert created["moderation"] == {"is_blocked": False, "blocked_reason": None}
    assert created["published_at"] is not None

    public = await client.get(f"/api/v1/products/{created['id']}")
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["moderation"] is None
    assert body["your_price"] is None
    assert {key: value for key, value in body.items() if key not in ("moderation",)} == {
        key: value for key, value in created.items() if key not in ("moderation",)
    }

    stored = await db_session.scalar(select(Product).where(Product.sku == "BOLT-M8-40"))
    assert stored is not None
    assert stored.base_price == Decimal("0.25")
    assert stored.supplier_id == catalog.supplier_id


async def test_update_replaces_tiers_and_keeps_base_price_in_step(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["sales"]
    created = await create_product(client, owner)
    response = await client.patch(
        f"/api/v1/products/{created['id']}",
        json={"price_tiers": [{"min_qty": "50", "unit_price": "0.3"}], "name": "Bolt"},
        headers=owner,
    )
    assert response.status_code == 200, response.text
    assert response.json()["price_tiers"] == [{"min_qty": "50", "unit_price": "0.30"}]
    assert response.json()["base_price"] == "0.30"
    assert response.json()["name"] == "Bolt"
    tiers = (
        await db_session.execute(
            select(PriceTier.min_qty, PriceTier.unit_price).where(
                PriceTier.product_id == uuid.UUID(created["id"])
            )
        )
    ).all()
    assert [tuple(row) for row in tiers] == [(Decimal("50.000"), Decimal("0.3000"))]


async def test_archive_hides_the_product_from_the_public(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    created = await create_product(client, owner)
    assert (await client.get(f"/api/v1/products/{created['id']}")).status_code == 200
    response = await client.delete(f"/api/v1/products/{created['id']}", headers=owner)
    assert response.status_code == 204
    assert_problem(await client.get(f"/api/v1/products/{created['id']}"), 404)
    own = await client.get(f"/api/v1/products/{created['id']}", headers=owner)
    assert own.json()["status"] == "archived"
    restored = await client.patch(
        f"/api/v1/products/{created['id']}", json={"status": "active"}, headers=owner
    )
    assert restored.status_code == 200
    assert (await client.get(f"/api/v1/products/{created['id']}")).status_code == 200


async def test_duplicate_sku_is_409_per_supplier_only(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    await create_product(client, catalog.headers["owner"], sku="SAME-1")
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/products", json=product_body(sku="SAME-1"), headers=catalog.headers["owner"]
    )
    body = assert_problem(response, 409)
    assert body["type"] == "urn:marketplace:problem:duplicate-sku"
    assert await snapshot(db_session) == before
    # Another supplier may use the same SKU.
    await create_product(client, catalog.headers["outsider"], sku="SAME-1")


async def test_renaming_to_a_taken_sku_is_409(client: httpx.AsyncClient, catalog: Catalog) -> None:
    owner = catalog.headers["owner"]
    await create_product(client, owner, sku="TAKEN")
    second = await create_product(client, owner, sku="FREE")
    response = await client.patch(
        f"/api/v1/products/{second['id']}", json={"sku": "TAKEN"}, headers=owner
    )
    assert_problem(response, 409)
    again = await client.get(f"/api/v1/products/{second['id']}", headers=owner)
    assert again.json()["sku"] == "FREE"


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"price_tiers": []}, ["body", "price_tiers"]),
        (
            {
                "price_tiers": [
                    {"min_qty": "1000", "unit_price": "0.19"},
                    {"min_qty": "100", "unit_price": "0.25"},
                ]
            },
            ["body", "price_tiers", "0", "min_qty"],
        ),
        ({"price_tiers": [{"min_qty": "200", "unit_price": "0.25"}]}, ["body", "price_tiers", "0"]),
        ({"price_tiers": [{"min_qty": "100", "unit_price": "0"}]}, ["body", "price_tiers", "0"]),
        ({"price_tiers": [{"min_qty": "-1", "unit_price": "1"}]}, ["body", "price_tiers", "0"]),
        ({"moq": "0"}, ["body", "moq"]),
        ({"moq": "-5"}, ["body", "moq"]),
        ({"moq": "120"}, ["body", "moq"]),  # not a multiple of the pack size 50
        ({"moq": "100.5", "order_multiple": None}, ["body", "moq"]),  # pieces are whole
        ({"stock": "-1"}, ["body", "stock"]),
        ({"currency": "XYZ"}, ["body", "currency"]),
        ({"currency": "DEM"}, ["body", "currency"]),  # no longer legal tender
        ({"unit": "bucket"}, ["body", "unit"]),
        ({"lead_time_days": -1}, ["body", "lead_time_days"]),
        ({"status": "deleted"}, ["body", "status"]),
        ({"attributes": {f"k{i}": "v" for i in range(51)}}, ["body", "attributes"]),
        ({"attributes": {"k": "v" * 501}}, ["body", "attributes"]),
        ({"attributes": {"k": {"nested": "no"}}}, ["body", "attributes"]),
        ({"attributes": {"k" * 65: "v"}}, ["body", "attributes"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 301}, ["body", "name"]),
        ({"name": "line\nbreak"}, ["body", "name"]),
        ({"category": "no-such-category"}, ["body", "category"]),
        ({"parent_id": str(uuid.uuid4())}, ["body", "parent_id"]),
        ({"supplier_id": str(uuid.uuid4())}, ["body", "supplier_id"]),
        ({"is_blocked": True}, ["body", "is_blocked"]),
        ({"base_price": "0.01"}, ["body", "base_price"]),
        ({"unknown_field": 1}, ["body", "unknown_field"]),
        ({"price_tiers": [{"min_qty": "100", "unit_price": 0.30000000000000004}]}, ["body"]),
        ({"price_tiers": [{"min_qty": "100", "unit_price": "0.00001"}]}, ["body"]),
        ({"price_tiers": [{"min_qty": "100", "unit_price": "NaN"}]}, ["body"]),
        ({"price_tiers": [{"min_qty": "100", "unit_price": True}]}, ["body"]),
    ],
)
async def test_invalid_products_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    overrides: dict[str, Any],
    location: list[Any],
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/products", json=product_body(**overrides), headers=catalog.headers["owner"]
    )
    body = assert_problem(response, 422)
    assert any(error["loc"][: len(location)] == location for error in body["errors"]), body
    assert await snapshot(db_session) == before


async def test_invalid_update_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    created = await create_product(client, owner)
    before = await snapshot(db_session)
    for body in (
        {"moq": "10"},  # the first tier (100) would start above the MOQ
        {"name": None},
        {"price_tiers": None},
        {"order_multiple": "30"},  # MOQ 100 is not a multiple of 30
        {"supplier_id": str(catalog.other_supplier_id)},
    ):
        response = await client.patch(f"/api/v1/products/{created['id']}", json=body, headers=owner)
        assert_problem(response, 422)
    assert await snapshot(db_session) == before


async def test_json_numbers_are_taken_as_their_decimal_text(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    created = await create_product(
        client,
        catalog.headers["owner"],
        price_tiers=[{"min_qty": 100, "unit_price": 0.1}, {"min_qty": 1000, "unit_price": 0.07}],
        moq=100,
        order_multiple=None,
    )
    assert created["price_tiers"] == [
        {"min_qty": "100", "unit_price": "0.10"},
        {"min_qty": "1000", "unit_price": "0.07"},
    ]
    # 3 x 0.1 is exactly 0.30, not 0.30000000000000004.
    quote = await client.get(f"/api/v1/products/{created['id']}/price", params={"quantity": "103"})
    assert quote.status_code == 200, quote.text
    assert quote.json()["line_total"] == "10.30"


async def test_strings_are_stored_verbatim_and_returned_as_json(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    hostile = "<script>alert('x')</script>'; DROP TABLE products; --"
    created = await create_product(
        client,
        catalog.headers["owner"],
        name=hostile,
        description=hostile + "\nsecond line",
        attributes={"<b>key</b>": hostile},
    )
    response = await client.get(f"/api/v1/products/{created['id']}")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["name"] == hostile
    assert response.json()["attributes"] == {"<b>key</b>": hostile}
    stored = await db_session.scalar(
        select(Product.name).where(Product.id == uuid.UUID(created["id"]))
    )
    assert stored == hostile


async def test_buyer_company_cannot_have_a_catalog(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    from tests.factories import add_member, bearer_headers, make_company, make_user

    user = await make_user(db_session)
    buyer = await make_company(db_session, kind="buyer")
    await add_member(db_session, buyer, user, "owner")
    headers = await bearer_headers(app, db_session, user)
    before = await snapshot(db_session)
    response = await client.post("/api/v1/products", json=product_body(), headers=headers)
    body = assert_problem(response, 403)
    assert body["type"] == "urn:marketplace:problem:supplier-required"
    assert await snapshot(db_session) == before


async def test_variants_form_one_level_families(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    head = await create_product(client, owner, name="T-shirt", attributes={"fabric": "cotton"})
    small = await create_product(
        client, owner, name="T-shirt S", parent_id=head["id"], attributes={"size": "S"}
    )
    large = await create_product(
        client, owner, name="T-shirt L", parent_id=head["id"], attributes={"size": "L"}
    )
    detail = (await client.get(f"/api/v1/products/{small['id']}")).json()
    assert detail["parent_id"] == head["id"]
    assert [variant["id"] for variant in detail["variants"]] == [head["id"], large["id"]]
    assert detail["variants"][0]["is_family_head"] is True
    head_detail = (await client.get(f"/api/v1/products/{head['id']}")).json()
    assert {variant["id"] for variant in head_detail["variants"]} == {small["id"], large["id"]}

    # No second level: a variant cannot head a family, a head cannot become a variant.
    response = await client.post(
        "/api/v1/products", json=product_body(parent_id=small["id"]), headers=owner
    )
    assert_problem(response, 422)
    other = await create_product(client, owner)
    response = await client.patch(
        f"/api/v1/products/{head['id']}", json={"parent_id": other["id"]}, headers=owner
    )
    assert_problem(response, 422)
    response = await client.patch(
        f"/api/v1/products/{head['id']}", json={"parent_id": head["id"]}, headers=owner
    )
    assert_problem(response, 422)
    # Another supplier's product is no family head for ours.
    foreign = await create_product(client, catalog.headers["outsider"])
    response = await client.post(
        "/api/v1/products", json=product_body(parent_id=foreign["id"]), headers=owner
    )
    assert_problem(response, 422)
    # Leaving the family.
    response = await client.patch(
        f"/api/v1/products/{large['id']}", json={"parent_id": None}, headers=owner
    )
    assert response.status_code == 200
    head_detail = (await client.get(f"/api/v1/products/{head['id']}")).json()
    assert [variant["id"] for variant in head_detail["variants"]] == [small["id"]]


async def test_unknown_product_paths(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert_problem(await client.get(f"/api/v1/products/{uuid.uuid4()}"), 404)
    assert_problem(await client.get("/api/v1/products/not-a-uuid"), 404)
    response = await client.patch(
        f"/api/v1/products/{uuid.uuid4()}", json={"name": "x"}, headers=catalog.headers["owner"]
    )
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("quantity", "problem"),
    [
        ("0", "quantity-not-positive"),
        ("-5", "quantity-not-positive"),
        ("50", "quantity-below-moq"),
        ("125", "quantity-not-multiple"),
        ("150.5", "quantity-not-whole"),
        ("abc", "validation-failed"),
        ("1e400", "validation-failed"),
        ("NaN", "validation-failed"),
        ("0.0001", "validation-failed"),  # more than 3 decimals
    ],
)
async def test_unorderable_quantities_are_422_problems(
    client: httpx.AsyncClient, catalog: Catalog, quantity: str, problem: str
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    response = await client.get(
        f"/api/v1/products/{product['id']}/price",
        params={"quantity": quantity},
        headers={"Accept-Language": "de"},
    )
    body = assert_problem(response, 422)
    assert body["type"] == f"urn:marketplace:problem:{problem}"
    if problem == "quantity-below-moq":
        assert body["detail"] == "Die Menge 50 liegt unter der Mindestbestellmenge von 100."


async def test_quotes_follow_the_tiers(client: httpx.AsyncClient, catalog: Catalog) -> None:
    product = await create_product(client, catalog.headers["owner"])
    url = f"/api/v1/products/{product['id']}/price"
    first = (await client.get(url, params={"quantity": "100"})).json()
    assert first == {
        "quantity": "100",
        "unit_price": "0.25",
        "line_total": "25.00",
        "currency": "EUR",
        "source": "tiers",
        "tier_min_qty": "100",
        "price_list_id": None,
    }
    bulk = (await client.get(url, params={"quantity": "1050"})).json()
    assert (bulk["unit_price"], bulk["line_total"], bulk["tier_min_qty"]) == (
        "0.19",
        "199.50",
        "1000",
    )
