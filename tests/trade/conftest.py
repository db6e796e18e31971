"""A small market for trade tests: a buyer with every role, two verified suppliers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.companies.models import Company
from marketplace.settings import Settings
from tests.conftest import client_for, started_app
from tests.factories import (
    add_member,
    bearer_headers,
    make_company,
    make_product,
    make_user,
    platform_of,
)

ADDRESS = {"line1": "Hafenstrasse 1", "city": "Hamburg", "postal_code": "20457", "country": "DE"}


@dataclass
class Market:
    buyer: Company
    supplier: Company
    other_supplier: Company
    bolts: Product
    nuts: Product
    washers: Product
    headers: dict[str, dict[str, str]]


@pytest.fixture
async def market(app: FastAPI, db_session: AsyncSession) -> Market:
    return await build_market(app, db_session)


@pytest.fixture
async def live_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app on its real sessions: each request commits, requests run concurrently."""
    async for application in started_app(settings):
        yield application


@pytest.fixture
async def live_client(live_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(live_app) as client:
        yield client


@pytest.fixture
async def live_market(live_app: FastAPI) -> AsyncIterator[Market]:
    """A committed market (left in this run's database, which is dropped at the end),
    its products taken out of the catalog afterwards."""
    async with platform_of(live_app).database.session_factory() as session:
        built = await build_market(live_app, session)
        await session.commit()
    yield built
    async with platform_of(live_app).database.session_factory() as session:
        await retire_products(session, built)
        await session.commit()


async def retire_products(session: AsyncSession, market: Market) -> None:
    """Archive a committed market's products: other tests search the whole catalog
    of this run's database and must not find them."""
    await session.execute(
        text("UPDATE products SET status = 'archived' WHERE supplier_id = ANY(:suppliers)"),
        {"suppliers": [market.supplier.id, market.other_supplier.id]},
    )


async def build_market(app: FastAPI, db_session: AsyncSession) -> Market:
    buyer = await make_company(db_session, name="Buyer GmbH", kind="buyer", country="DE")
    supplier = await make_company(
        db_session, name="Bolt Works", kind="supplier", verification_status="verified"
    )
    other = await make_company(
        db_session, name="Nut House", kind="supplier", verification_status="verified", country="FR"
    )
    bolts = await make_product(
        db_session,
        supplier=supplier,
        sku="BOLT-M8",
        name="Hex bolt M8",
        tiers=((10, "0.5000"), (100, "0.4000")),
        order_multiple=10,
        stock=1000,
    )
    washers = await make_product(
        db_session, supplier=supplier, sku="WASHER-M8", tiers=((1, "0.0125"),), stock=50
    )
    nuts = await make_product(
        db_session, supplier=other, sku="NUT-M8", tiers=((1, "0.2000"),), stock=10
    )
    headers: dict[str, dict[str, str]] = {}
    for role in ("owner", "admin", "purchaser", "sales", "viewer"):
        user = await make_user(db_session, name=f"Buyer {role}")
        await add_member(
            db_session,
            buyer,
            user,
            role,
            spending_limit=Decimal("100.00") if role == "purchaser" else None,
        )
        headers[role] = await bearer_headers(app, db_session, user, buyer)
    for name, company in (("supplier", supplier), ("other_supplier", other)):
        user = await make_user(db_session, name=f"{name} sales")
        await add_member(db_session, company, user, "owner")
        headers[name] = await bearer_headers(app, db_session, user, company)
    return Market(buyer, supplier, other, bolts, nuts, washers, headers)


def order_body(*lines: tuple[Product, str | int], **extra: object) -> dict[str, object]:
    return {
        "lines": [
            {"product_id": str(product.id), "quantity": str(quantity)}
            for product, quantity in lines
        ],
        "shipping_address": ADDRESS,
        **extra,
    }
