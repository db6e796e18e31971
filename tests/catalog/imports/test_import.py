"""Importing a catalog CSV: whole-file checks, per-row validation, the error report."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.imports.conftest import (
    IMPORT_URL,
    Catalog,
    created_in_this_test,
    csv_bytes,
    product_row,
    products_of,
    read_csv,
    upload,
)
from tests.companies.conftest import assert_problem


async def _job(client: httpx.AsyncClient, catalog: Catalog, job_id: str) -> dict[str, Any]:
    response = await client.get(f"{IMPORT_URL}/{job_id}", headers=catalog.headers["owner"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _nothing_written(db_session: AsyncSession) -> None:
    assert await created_in_this_test(db_session, "catalog_import_jobs") == 0
    assert await created_in_this_test(db_session, "products") == 0


async def test_valid_file_creates_products_and_reports_counts(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    slug = catalog.category_slugs[0]
    data = csv_bytes(
        [
            product_row("BOLT-M8", category=slug),
            product_row("NUT-M8", name="Hex nut M8", tiers="100:0.05", order_multiple=""),
        ]
    )

    response = await upload(client, catalog.headers["owner"], data, filename="spring.csv")

    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"{IMPORT_URL}/{job['id']}"
    assert job["status"] == "queued"
    assert job["filename"] == "spring.csv"
    assert job["progress"] == {"rows_done": 0, "rows_total": 2, "percent": 0}
    assert job["errors_url"] == f"{IMPORT_URL}/{job['id']}/errors.csv"
    assert catalog.runner.launched == [uuid.UUID(job["id"])]

    await catalog.run_jobs()

    job = await _job(client, catalog, job["id"])
    assert job["status"] == "completed"
    assert job["progress"] == {"rows_done": 2, "rows_total": 2, "percent": 100}
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert job["started_at"] is not None
    assert job["finished_at"] is not None
    products = await products_of(db_session, catalog.supplier_id)
    assert [product["sku"] for product in products] == ["BOLT-M8", "NUT-M8"]
    bolt, nut = products
    assert bolt["name"] == "Hex bolt BOLT-M8"
    assert bolt["description"] == "Zinc plated, DIN 933."
    assert bolt["unit"] == "piece"
    assert bolt["currency"] == "EUR"
    assert bolt["moq"] == Decimal("100")
    assert bolt["order_multiple"] == Decimal("50")
    assert bolt["stock"] == Decimal("12000")
    assert bolt["lead_time_days"] == 5
    assert bolt["status"] == "active"
    assert bolt["attributes"] == {"material": "steel"}
    assert bolt["base_price"] == Decimal("0.25")
    assert bolt["tiers"] == [["100.000", "0.2500"], ["1000.000", "0.1900"]]
    assert bolt["category_id"] is not None
    assert nut["order_multiple"] is None
    assert nut["tiers"] == [["100.000", "0.0500"]]

    report = await client.get(job["errors_url"], headers=catalog.headers["owner"])
    assert report.status_code == 200
    assert report.headers["content-type"] == "text/csv; charset=utf-8"
    assert read_csv(report.content) == [["row", "column", "message"]]


async def test_second_import_updates_by_sku_and_counts_unchanged_rows(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    first = csv_bytes([product_row("A-1"), product_row("A-2"), product_row("A-3")])
    assert (await upload(client, catalog.headers["owner"], first)).status_code == 202
    await catalog.run_jobs()

    second = csv_bytes(
        [
            product_row("A-1"),  # as stored
            product_row("A-2", stock="5", tiers="100:0.24"),
            product_row("A-4"),
        ]
    )
    response = await upload(client, catalog.headers["owner"], second)
    await catalog.run_jobs()

    job = await _job(client, catalog, response.json()["id"])
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "failed": 0}
    products = {p["sku"]: p for p in await products_of(db_session, catalog.supplier_id)}
    assert sorted(products) == ["A-1", "A-2", "A-3", "A-4"]
    assert products["A-2"]["stock"] == Decimal("5")
    assert products["A-2"]["tiers"] == [["100.000", "0.2400"]]
    assert products["A-2"]["base_price"] == Decimal("0.24")


async def test_columns_left_out_keep_stored_values(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    await upload(client, catalog.headers["owner"], csv_bytes([product_row("KEEP-1")]))
    await catalog.run_jobs()

    partial = csv_bytes(
        [
            {
                "sku": "KEEP-1",
                "name": "Renamed",
                "unit": "piece",
                "currency": "EUR",
                "tiers": "100:1",
            }
        ],
        columns=("sku", "name", "unit", "currency", "tiers"),
    )
    await upload(client, catalog.headers["owner"], partial)
    await catalog.run_jobs()

    (product,) = await products_of(db_session, catalog.supplier_id)
    assert product["name"] == "Renamed"
    assert product["tiers"] == [["100.000", "1.0000"]]
    assert product["stock"] == Decimal("12000")
    assert product["description"] == "Zinc plated, DIN 933."
    assert product["attributes"] == {"material": "steel"}
    assert product["status"] == "active"


async def test_mixed_rows_apply_the_valid_ones_and_report_each_error(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    data = csv_bytes(
        [
            product_row("OK-1"),  # row 2
            product_row("BAD-TIERS", tiers="100:0.25|50:0.30"),  # row 3
            product_row("BAD-CAT", category="no-such-category"),  # row 4
            product_row("BAD-NUM", stock="12,5"),  # row 5
            product_row("OK-1", name="Again"),  # row 6: duplicate SKU
            product_row("", name=""),  # row 7
            product_row("BAD-STATUS", status="published", currency="euro"),  # row 8
            product_row("BAD-ATTR", attributes="material=steel", lead_time_days="soon"),  # 9
            product_row("OK-2", tiers="200:1.00"),  # row 10: first tier above the MOQ
            product_row("OK-3"),  # row 11
        ]
    )
    data += b"SHORT,row\r\n"  # row 12: too few cells

    response = await upload(client, catalog.headers["sales"], data)
    assert response.status_code == 202, response.text
    await catalog.run_jobs()

    job = await _job(client, catalog, response.json()["id"])
    assert job["status"] == "completed"
    assert job["progress"]["rows_total"] == 11
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 9}
    skus = [p["sku"] for p in await products_of(db_session, catalog.supplier_id)]
    assert skus == ["OK-1", "OK-3"]

    report = await client.get(job["errors_url"], headers=catalog.headers["viewer"])
    assert report.status_code == 200
    assert read_csv(report.content) == [
        ["row", "column", "message"],
        ["3", "tiers", "tier 2: min_qty must be strictly ascending"],
        ["4", "category", "there is no category 'no-such-category'"],
        ["5", "stock", "'12,5' is not a number: use a decimal point, not a comma"],
        ["6", "sku", "the SKU 'OK-1' already appears on row 2; each SKU once per file"],
        ["7", "sku", "String should have at least 1 character"],
        ["7", "name", "String should have at least 1 character"],
        ["8", "currency", "not an ISO 4217 currency code in use"],
        ["8", "status", "Input should be 'draft', 'active' or 'archived'"],
        ["9", "lead_time_days", "'soon' is not a whole number of days"],
        [
            "9",
            "attributes",
            'attributes must be a JSON object, e.g. {"material": "steel", "length_mm": 40}',
        ],
        [
            "10",
            "tiers",
            "tier 1 min_qty: the first tier must start at or below the minimum order quantity",
        ],
        ["12", "", "the row has 2 cells where the header has 14"],
    ]


async def test_bom_and_semicolons_are_read(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    data = csv_bytes(
        [product_row("SEMI-1", description="Bolts; nuts, washers")], separator=";", bom=True
    )
    response = await upload(client, catalog.headers["admin"], data)
    assert response.status_code == 202, response.text
    await catalog.run_jobs()

    (product,) = await products_of(db_session, catalog.supplier_id)
    assert product["sku"] == "SEMI-1"
    assert product["description"] == "Bolts; nuts, washers"


async def test_header_names_are_case_and_space_insensitive_in_any_order(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    data = b" Tiers ,SKU,Name,UNIT,Currency\r\n1:9.99,X-1,Widget,box,USD\r\n"
    response = await upload(client, catalog.headers["owner"], data)
    assert response.status_code == 202, response.text
    await catalog.run_jobs()

    (product,) = await products_of(db_session, catalog.supplier_id)
    assert (product["sku"], product["unit"], product["currency"]) == ("X-1", "box", "USD")
    assert (product["moq"], product["stock"], product["status"]) == (Decimal(1), 0, "draft")


@pytest.mark.parametrize(
    ("data", "code", "detail"),
    [
        (
            "sku;name;unit;currency;tiers\r\nBOLT;Schraube groß;piece;EUR;1:1\r\n".encode(
                "latin-1"
            ),
            "import-not-utf8",
            "The file is not UTF-8 encoded (line 2). Save it as 'CSV UTF-8' and upload it again.",
        ),
        (b"", "import-empty", "The file is empty."),
        (b"\xef\xbb\xbf\r\n\r\n", "import-empty", "The file is empty."),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "import-not-csv",
            "The file is not a CSV text file. Save it as 'CSV UTF-8' and upload it again.",
        ),
        (
            b"sku,name,unit,currency,tiers\r\n",
            "import-no-rows",
            "The file has a header row but no product rows.",
        ),
        (
            b'sku,name,unit,currency,tiers\r\nA,"unterminated,piece,EUR,1:1\r\n',
            "import-broken-csv",
            "The file is not valid CSV (row 2): nothing was imported.",
        ),
    ],
    ids=["latin-1", "empty", "bom-only", "zip", "header-only", "open-quote"],
)
async def test_file_that_cannot_be_read_is_refused_whole(
    client: httpx.AsyncClient,
    catalog: Catalog,
    db_session: AsyncSession,
    data: bytes,
    code: str,
    detail: str,
) -> None:
    response = await upload(client, catalog.headers["owner"], data)

    body = assert_problem(response, 422)
    assert body["type"] == f"urn:marketplace:problem:{code}"
    assert body["detail"] == detail
    await _nothing_written(db_session)
    assert catalog.runner.launched == []


async def test_wrong_header_is_refused_with_the_columns_at_fault(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    data = b"sku,title,unit,currency,tiers,stock,stock\r\nA,Widget,box,EUR,1:1,5,5\r\n"

    response = await upload(client, catalog.headers["owner"], data)

    body = assert_problem(response, 422)
    assert body["type"] == "urn:marketplace:problem:import-header"
    assert body["detail"].startswith("The first row must name the catalog columns")
    assert "Required: sku, name, unit, currency, tiers." in body["detail"]
    assert body["errors"] == [
        {"loc": ["file", "header", "name"], "msg": "required column missing", "type": "missing"},
        {"loc": ["file", "header", "title"], "msg": "unknown column", "type": "unknown"},
        {"loc": ["file", "header", "stock"], "msg": "column repeated", "type": "duplicate"},
    ]
    await _nothing_written(db_session)


async def test_refusal_is_translated(client: httpx.AsyncClient, catalog: Catalog) -> None:
    response = await client.post(
        IMPORT_URL,
        headers={**catalog.headers["owner"], "Accept-Language": "de"},
        files={"file": ("x.csv", b"", "text/csv")},
    )
    body = assert_problem(response, 422)
    assert body["detail"] == "Die Datei ist leer."


async def test_file_over_the_limit_is_refused_with_413(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    limit = catalog.app.state.settings.max_import_bytes
    row = b"SKU-%07d,Widget,piece,EUR,1:1\r\n"
    data = b"sku,name,unit,currency,tiers\r\n" + b"".join(
        row % index for index in range(limit // len(row % 0) + 1)
    )
    assert limit < len(data) < limit + 64 * 1024

    response = await upload(client, catalog.headers["owner"], data)

    body = assert_problem(response, 413)
    assert body["type"] == "urn:marketplace:problem:import-too-large"
    assert body["detail"] == f"The file is larger than the import limit of {limit} bytes."
    await _nothing_written(db_session)


async def test_body_far_over_the_limit_is_cut_off_by_the_middleware(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    limit = catalog.app.state.settings.max_import_bytes
    response = await upload(client, catalog.headers["owner"], b"x" * (limit + 128 * 1024))

    assert_problem(response, 413)
    await _nothing_written(db_session)


async def test_a_missing_file_field_is_a_validation_problem(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    response = await client.post(
        IMPORT_URL, headers=catalog.headers["owner"], files={"other": ("a.csv", b"x")}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "file"]
    await _nothing_written(db_session)
