"""A verified supplier with a member of every role, a second supplier, buyers, staff
and API keys; helpers to create products through the API and to snapshot the catalog.

Ids are kept as plain values: requests share the test's session, so ORM objects
created here may be expired by a request and must not be read afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from marketplace.companies.permissions import Scope
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_member, bearer_headers, make_api_key, make_company, make_user

ROLES = ("owner", "admin", "purchaser", "sales", "viewer")
WRITER_ROLES = frozenset({"owner", "admin", "sales"})


@dataclass
class Catalog:
    supplier_id: uuid.UUID
    other_supplier_id: uuid.UUID
    buyer_id: uuid.UUID
    other_buyer_id: uuid.UUID
    category_id: uuid.UUID
    headers: dict[str, dict[str, str]]


async def make_category(
    session: AsyncSession, slug: str, *, parent: Category | None = None, name: str | None = None
) -> Category:
    category = Category(
        id=uuid.uuid4(),
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        parent_id=parent.id if parent else None,
        path=f"{parent.path}/{slug}" if parent else slug,
    )
    session.add(category)
    await session.flush()
    return category


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Images go to a directory of the test's own."""
    return make_settings(database_url=database_url, storage_dir=tmp_path / "storage")


@pytest.fixture
async def catalog(app: FastAPI, db_session: AsyncSession) -> Catalog:
    """Headers by caller: the supplier's roles, `outsider` (owner of another supplier),
    `buyer` / `other_buyer` (purchasers of two buyer companies), `staff`, API keys."""
    supplier = await make_company(
        db_session, name="Acme Fasteners", kind="supplier", verification_status="verified"
    )
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES:
        user = await make_user(db_session, name=f"{role.title()} Person")
        await add_member(db_session, supplier, user, role)
        headers[role] = await bearer_headers(app, db_session, user)

    other_owner = await make_user(db_session, name="Other Supplier Owner")
    other = await make_company(
        db_session,
        name="Beta Tools",
        kind="supplier",
        country="FR",
        verification_status="verified",
        owner=other_owner,
    )
    headers["outsider"] = await bearer_headers(app, db_session, other_owner)

    buyer_user = await make_user(db_session, name="Buyer Purchaser")
    buyer = await make_company(db_session, name="Buyer One", kind="buyer")
    await add_member(db_session, buyer, buyer_user, "purchaser")
    headers["buyer"] = await bearer_headers(app, db_session, buyer_user)
    other_buyer_user = await make_user(db_session, name="Other Buyer Purchaser")
    other_buyer = await make_company(db_session, name="Buyer Two", kind="buyer")
    await add_member(db_session, other_buyer, other_buyer_user, "purchaser")
    headers["other_buyer"] = await bearer_headers(app, db_session, other_buyer_user)

    staff = await make_user(db_session, name="Staff Person", is_staff=True)
    headers["staff"] = await bearer_headers(app, db_session, staff)
    _key, headers["api_key"] = await make_api_key(app, db_session, supplier, [Scope.CATALOG_WRITE])
    _key, headers["api_key_read_only"] = await make_api_key(
        app, db_session, supplier, [Scope.CATALOG_READ]
    )
    _key, headers["other_api_key"] = await make_api_key(app, db_session, other, list(Scope))
    category = await make_category(db_session, f"fasteners-{uuid.uuid4().hex[:6]}")
    return Catalog(
        supplier_id=supplier.id,
        other_supplier_id=other.id,
        buyer_id=buyer.id,
        other_buyer_id=other_buyer.id,
        category_id=category.id,
        headers=headers,
    )


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": f"BOLT-{uuid.uuid4().hex[:8]}",
        "name": "Hex bolt M8x40",
        "description": "Zinc-plated steel, DIN 933.",
        "unit": "piece",
        "currency": "EUR",
        "price_tiers": [
            {"min_qty": "100", "unit_price": "0.25"},
            {"min_qty": "1000", "unit_price": "0.19"},
        ],
        "moq": "100",
        "order_multiple": "50",
        "stock": "12000",
        "lead_time_days": 5,
        "attributes": {"material": "steel", "thread": "M8"},
        "status": "active",
    }
    body.update(overrides)
    return body


async def create_product(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/products", json=product_body(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


_SNAPSHOT_QUERIES = {
    "products": "SELECT * FROM products ORDER BY id",
    "tiers": "SELECT * FROM price_tiers ORDER BY id",
    "images": "SELECT * FROM product_images ORDER BY id",
    "categories": "SELECT * FROM categories ORDER BY id",
    "groups": "SELECT * FROM buyer_groups ORDER BY id",
    "group_members": "SELECT * FROM buyer_group_members ORDER BY group_id, buyer_id",
    "price_lists": "SELECT * FROM price_lists ORDER BY id",
    "price_list_tiers": "SELECT * FROM price_list_tiers ORDER BY id",
    "assignments": "SELECT * FROM price_list_assignments ORDER BY id",
}


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a catalog endpoint can write, read with plain SQL."""
    return {
        name: [tuple(row) for row in (await session.execute(text(query))).all()]
        for name, query in _SNAPSHOT_QUERIES.items()
    }


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body
