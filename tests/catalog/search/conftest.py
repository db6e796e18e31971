"""A small fixed catalog: three verified suppliers in three countries, a category tree,
visible products with tiers and attributes, and invisible ones of every kind.

Ids are kept as plain values: requests share the test's session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import make_category, make_company, make_product

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No result cache (each test sees its own writes at once; the cache has its own
    tests) and no anonymous rate limit in the way of page walks."""
    return make_settings(
        database_url=database_url,
        catalog_search_cache_ttl_seconds=0,
        rate_limit_anonymous="100000/minute",
    )


@dataclass
class Catalog:
    suppliers: dict[str, Company]
    categories: dict[str, uuid.UUID]
    products: dict[str, uuid.UUID]  # visible
    hidden: dict[str, uuid.UUID]  # never public

    def names(self, ids: list[str]) -> list[str]:
        by_id = {str(value): key for key, value in (self.products | self.hidden).items()}
        return [by_id.get(product_id, product_id) for product_id in ids]


@pytest.fixture
async def catalog(db_session: AsyncSession) -> Catalog:
    s = db_session
    de = await make_company(
        s,
        name="Rhein Industrie GmbH",
        kind="supplier",
        country="DE",
        verification_status="verified",
    )
    fr = await make_company(
        s, name="Lyon Fournitures", kind="supplier", country="FR", verification_status="verified"
    )
    cn = await make_company(
        s, name="Shenzhen Trading", kind="supplier", country="CN", verification_status="verified"
    )
    unverified = await make_company(s, kind="supplier", country="DE")
    pending = await make_company(s, kind="supplier", country="DE", verification_status="pending")
    # Slugs are global: "test-" keeps them clear of the seeded taxonomy.
    tools = await make_category(s, slug="test-tools")
    power_tools = await make_category(s, slug="test-power-tools", parent=tools)
    drills = await make_category(s, slug="test-drills", parent=power_tools)
    fasteners = await make_category(s, slug="test-fasteners")
    safety = await make_category(s, slug="test-safety")
    gloves_category = await make_category(s, slug="test-gloves", parent=safety)

    def at(hours: int) -> datetime:
        return START + timedelta(hours=hours)

    products = {
        "hex_bolt": await make_product(
            s,
            supplier=de,
            sku="HX-100",
            name="Hex bolt M8 zinc plated",
            description="DIN 933 hexagon head bolt for steel constructions.",
            category=fasteners,
            tiers=((100, "0.12"), (1000, "0.10")),
            stock=5000,
            attributes={"color": "silver", "material": "steel", "thread": "M8"},
            created_at=at(1),
        ),
        "hex_bolt_long": await make_product(
            s,
            supplier=fr,
            sku="HX-1000",
            name="Hex bolt M10 long",
            category=fasteners,
            tiers=((100, "0.20"),),
            stock=0,
            attributes={"color": "silver", "material": "steel"},
            created_at=at(2),
        ),
        "hex_key": await make_product(
            s,
            supplier=cn,
            sku="KEY-7",
            name="Hex key set for HX-100 bolts",
            category=tools,
            currency="USD",
            tiers=((1, "4.50"),),
            attributes={"color": "black", "pieces": 9},
            created_at=at(3),
        ),
        "drill": await make_product(
            s,
            supplier=de,
            sku="DR-18",
            name="Cordless drill 18V",
            description="Two-speed drill driver with two batteries.",
            category=drills,
            tiers=((1, "89.00"), (10, "79.00")),
            stock=40,
            attributes={"color": "blue", "voltage": 18},
            created_at=at(4),
        ),
        "impact_driver": await make_product(
            s,
            supplier=fr,
            sku="IMP-2",
            name="Impact driver brushless",
            category=power_tools,
            tiers=((5, "129.00"),),
            stock=3,  # below the MOQ of 5: not in stock
            attributes={"color": "red"},
            created_at=at(5),
        ),
        "gloves": await make_product(
            s,
            supplier=cn,
            sku="GL-1",
            name="Nitrile gloves powder free",
            description="Food-safe disposable gloves.",
            category=gloves_category,
            unit="box",
            currency="USD",
            tiers=((10, "3.20"), (100, "2.80")),
            order_multiple=10,
            stock=500,
            attributes={"color": "blue", "size": "L"},
            created_at=at(6),
        ),
        "helmet": await make_product(
            s,
            supplier=de,
            sku="HL-3",
            name="Safety helmet",
            category=safety,
            tiers=((1, "12.00"),),
            attributes={"color": "ultramarine"},
            created_at=at(7),
        ),
    }
    hidden = {
        "draft": await make_product(
            s, supplier=de, name="Cordless drill draft", status="draft", category=drills
        ),
        "archived": await make_product(
            s, supplier=de, name="Cordless drill archived", status="archived", category=drills
        ),
        "blocked": await make_product(
            s, supplier=de, name="Cordless drill blocked", is_blocked=True, category=drills
        ),
        "unverified": await make_product(
            s, supplier=unverified, name="Cordless drill unverified", category=drills
        ),
        "pending": await make_product(
            s, supplier=pending, name="Cordless drill pending", category=drills
        ),
    }
    return Catalog(
        suppliers={"de": de, "fr": fr, "cn": cn},
        categories={
            "test-tools": tools.id,
            "test-power-tools": power_tools.id,
            "test-drills": drills.id,
            "test-fasteners": fasteners.id,
            "test-safety": safety.id,
            "test-gloves": gloves_category.id,
        },
        products={key: product.id for key, product in products.items()},
        hidden={key: product.id for key, product in hidden.items()},
    )


async def search(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/products", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def search_names(client: httpx.AsyncClient, catalog: Catalog, **params: Any) -> list[str]:
    body = await search(client, **params)
    return catalog.names([item["id"] for item in body["items"]])


async def walk(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every item of every page, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        body = await search(client, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")
