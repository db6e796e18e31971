"""Variants in the catalog CSV: `parent_sku` names the family head by SKU. Export
writes it (heads first), import resolves it among the supplier's own products, and
every head the product rules refuse is an error of its row, the row not applied."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.imports.schemas import COLUMNS
from tests.catalog.imports.conftest import (
    EXPORT_URL,
    IMPORT_URL,
    Catalog,
    csv_bytes,
    product_row,
    products_of,
    read_csv,
    upload,
)

PARENT = COLUMNS.index("parent_sku")
WITHOUT_PARENT_COLUMN = [column for column in COLUMNS if column != "parent_sku"]


async def _import(
    client: httpx.AsyncClient, catalog: Catalog, data: bytes, caller: str = "owner"
) -> dict[str, Any]:
    response = await upload(client, catalog.headers[caller], data)
    assert response.status_code == 202, response.text
    await catalog.run_jobs()
    job = await client.get(f"{IMPORT_URL}/{response.json()['id']}", headers=catalog.headers[caller])
    assert job.status_code == 200, job.text
    body: dict[str, Any] = job.json()
    return body


async def _report(client: httpx.AsyncClient, catalog: Catalog, job: dict[str, Any]) -> list[Any]:
    report = await client.get(job["errors_url"], headers=catalog.headers["owner"])
    assert report.status_code == 200, report.text
    return read_csv(report.content)[1:]


async def _families(db_session: AsyncSession, supplier_id: uuid.UUID) -> dict[str, str | None]:
    """SKU -> its head's SKU (None for a product that is no variant)."""
    products = await products_of(db_session, supplier_id)
    sku_of = {product["id"]: product["sku"] for product in products}
    return {
        product["sku"]: sku_of[product["parent_id"]] if product["parent_id"] else None
        for product in products
    }


def _shirts() -> list[dict[str, str]]:
    # Variants whose SKUs sort before their head's: the export must still put the
    # head first.
    return [
        product_row("SHIRT", name="Work shirt"),
        product_row("A-SHIRT-S", parent_sku="SHIRT", attributes='{"size":"S"}'),
        product_row("A-SHIRT-M", parent_sku="SHIRT", attributes='{"size":"M"}'),
        product_row("GLOVES"),
    ]


async def test_variants_are_imported_and_round_trip_unchanged(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    job = await _import(client, catalog, csv_bytes(_shirts()))
    assert job["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "failed": 0}
    assert await _families(db_session, catalog.supplier_id) == {
        "A-SHIRT-M": "SHIRT",
        "A-SHIRT-S": "SHIRT",
        "GLOVES": None,
        "SHIRT": None,
    }
    before = await products_of(db_session, catalog.supplier_id)

    exported = await client.get(EXPORT_URL, headers=catalog.headers["owner"])
    rows = read_csv(exported.content)
    assert rows[0] == list(COLUMNS)
    assert [(row[0], row[PARENT]) for row in rows[1:]] == [
        ("GLOVES", ""),
        ("SHIRT", ""),
        ("A-SHIRT-M", "SHIRT"),
        ("A-SHIRT-S", "SHIRT"),
    ]

    again = await _import(client, catalog, exported.content)
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "failed": 0}
    assert await products_of(db_session, catalog.supplier_id) == before  # updated_at too

    # Heads come first, so the same file loads an empty catalog with its families.
    other = await _import(client, catalog, exported.content, caller="other_supplier")
    assert other["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "failed": 0}
    assert await _families(db_session, catalog.other_supplier_id) == await _families(
        db_session, catalog.supplier_id
    )


async def test_a_file_without_the_column_keeps_the_families_and_an_empty_cell_clears(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    await _import(client, catalog, csv_bytes(_shirts()))

    old_format = csv_bytes(
        [product_row("A-SHIRT-S", name="Work shirt S"), product_row("SHIRT")],
        columns=WITHOUT_PARENT_COLUMN,
    )
    job = await _import(client, catalog, old_format)
    assert job["counts"] == {"created": 0, "updated": 2, "unchanged": 0, "failed": 0}
    families = await _families(db_session, catalog.supplier_id)
    assert families["A-SHIRT-S"] == "SHIRT"

    job = await _import(client, catalog, csv_bytes([product_row("A-SHIRT-S", parent_sku="")]))
    assert job["counts"]["failed"] == 0
    families = await _families(db_session, catalog.supplier_id)
    assert families["A-SHIRT-S"] is None
    assert families["A-SHIRT-M"] == "SHIRT"


async def test_a_variant_moves_to_another_head_and_both_details_show_it(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    await _import(client, catalog, csv_bytes(_shirts()))
    ids = {p["sku"]: p["id"] for p in await products_of(db_session, catalog.supplier_id)}

    async def variants_of(sku: str) -> list[str]:
        # Anonymous: the shared cached detail, which the import must invalidate.
        detail = await client.get(f"/api/v1/products/{ids[sku]}")
        assert detail.status_code == 200, detail.text
        return [variant["sku"] for variant in detail.json()["variants"]]

    assert await variants_of("SHIRT") == ["A-SHIRT-M", "A-SHIRT-S"]
    assert await variants_of("GLOVES") == []

    job = await _import(client, catalog, csv_bytes([product_row("A-SHIRT-M", parent_sku="GLOVES")]))

    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 0, "failed": 0}
    assert (await _families(db_session, catalog.supplier_id))["A-SHIRT-M"] == "GLOVES"
    assert await variants_of("SHIRT") == ["A-SHIRT-S"]
    assert await variants_of("GLOVES") == ["A-SHIRT-M"]


async def test_each_head_the_rules_refuse_is_an_error_of_its_row(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    await _import(client, catalog, csv_bytes([product_row("THEIRS")]), caller="other_supplier")
    await _import(client, catalog, csv_bytes(_shirts()))
    before = await products_of(db_session, catalog.supplier_id)

    job = await _import(
        client,
        catalog,
        csv_bytes(
            [
                product_row("NEW-1", parent_sku="NO-SUCH-SKU"),  # row 2: unknown
                product_row("NEW-2", parent_sku="THEIRS"),  # row 3: another supplier's
                product_row("NEW-3", parent_sku="A-SHIRT-S"),  # row 4: a variant itself
                product_row("SHIRT", parent_sku="GLOVES"),  # row 5: heads a family
                product_row("GLOVES", parent_sku="GLOVES"),  # row 6: itself
                product_row("NEW-4", parent_sku="NEW-5"),  # row 7: comes later
                product_row("NEW-5"),  # row 8
                product_row("NEW-6", parent_sku="NEW-5"),  # row 9: came earlier
            ]
        ),
    )

    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 6}
    later = "a family head in the same file must come on an earlier row"  # keep the line short
    assert await _report(client, catalog, job) == [
        ["2", "parent_sku", f"there is no product of yours with the SKU 'NO-SUCH-SKU'; {later}"],
        ["3", "parent_sku", f"there is no product of yours with the SKU 'THEIRS'; {later}"],
        ["4", "parent_sku", "this product is itself a variant of another"],
        ["5", "parent_sku", "this product heads a family of variants"],
        ["6", "parent_sku", "a product cannot be its own family head"],
        ["7", "parent_sku", f"there is no product of yours with the SKU 'NEW-5'; {later}"],
    ]
    after = {
        product["sku"]: product for product in await products_of(db_session, catalog.supplier_id)
    }
    assert sorted(after) == sorted([*(product["sku"] for product in before), "NEW-5", "NEW-6"])
    for product in before:
        assert after[product["sku"]] == product
    assert after["NEW-6"]["parent_id"] == after["NEW-5"]["id"]
