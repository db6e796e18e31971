"""`add_new_products`: a data set's products created in bulk under the rules of one
product, those whose SKU the supplier has already left as they are."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.errors import ProductInvalid
from marketplace.catalog.imports.service import add_new_products
from marketplace.catalog.schemas import ProductCreate
from tests.factories import make_category, make_company, make_product


def _product(sku: str, **fields: Any) -> ProductCreate:
    return ProductCreate.model_validate(
        {
            "sku": sku,
            "name": f"Product {sku}",
            "unit": "piece",
            "currency": "EUR",
            "price_tiers": [{"min_qty": "10", "unit_price": "2.00"}],
            "moq": "10",
            "status": "active",
            **fields,
        }
    )


async def _stored(session: AsyncSession, supplier_id: object) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        text(
            "SELECT p.sku, p.name, p.base_price, p.category_id IS NOT NULL,"
            " p.published_at IS NOT NULL, count(t.id)"
            " FROM products p JOIN price_tiers t ON t.product_id = p.id"
            " WHERE p.supplier_id = :supplier GROUP BY p.id ORDER BY p.sku"
        ),
        {"supplier": supplier_id},
    )
    return [tuple(row) for row in rows]


async def test_new_skus_are_created_and_stored_ones_kept(db_session: AsyncSession) -> None:
    supplier = await make_company(db_session, kind="supplier", verification_status="verified")
    category = await make_category(db_session)
    await make_product(db_session, supplier=supplier, sku="KEPT-1", name="Changed since")
    products = [
        _product("KEPT-1"),
        _product("NEW-1", category=category.slug),
        _product(
            "NEW-2",
            status="draft",
            price_tiers=[
                {"min_qty": "10", "unit_price": "2.00"},
                {"min_qty": "100", "unit_price": "1.80"},
            ],
        ),
    ]

    assert await add_new_products(db_session, supplier.id, products) == 2
    assert await _stored(db_session, supplier.id) == [
        ("KEPT-1", "Changed since", Decimal("10.0000"), False, True, 1),
        ("NEW-1", "Product NEW-1", Decimal("2.0000"), True, True, 1),
        ("NEW-2", "Product NEW-2", Decimal("2.0000"), False, False, 2),
    ]
    # Loading the same set again adds nothing.
    assert await add_new_products(db_session, supplier.id, products) == 0


async def test_a_product_that_breaks_a_rule_refuses_the_whole_set(
    db_session: AsyncSession,
) -> None:
    supplier = await make_company(db_session, kind="supplier", verification_status="verified")
    products = [
        _product("GOOD-1"),
        _product("ODD-MOQ", moq="15", order_multiple="10"),
        _product("NO-SUCH-CATEGORY", category="no-such-category"),
    ]
    with pytest.raises(ProductInvalid) as refused:
        await add_new_products(db_session, supplier.id, products)
    assert [error["loc"] for error in refused.value.errors] == [
        ["body", "1", "moq"],
        ["body", "2", "category"],
    ]
    assert await _stored(db_session, supplier.id) == []
