"""Exporting the catalog: the import format, streamed, formula cells neutralised, and a
round trip that changes nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.imports import service
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
from tests.companies.conftest import assert_problem

FORMULAS = {
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "'=already quoted": "''=already quoted",
    "'plain apostrophe": "'plain apostrophe",
}


async def _import(client: httpx.AsyncClient, catalog: Catalog, data: bytes) -> dict[str, object]:
    response = await upload(client, catalog.headers["owner"], data)
    assert response.status_code == 202, response.text
    await catalog.run_jobs()
    job = await client.get(
        f"{IMPORT_URL}/{response.json()['id']}", headers=catalog.headers["owner"]
    )
    body: dict[str, object] = job.json()
    return body


async def test_export_writes_the_import_format_in_sku_order(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    slug = catalog.category_slugs[1]
    await _import(
        client,
        catalog,
        csv_bytes(
            [
                product_row("B-2", category=slug, tiers="100:0.2500|1000:0.19", moq="100.000"),
                product_row(
                    "A-1",
                    description='Line one\nline two, "quoted"',
                    order_multiple="",
                    status="draft",
                    attributes='{"size":"M8","colour":"grün"}',
                    tiers="100:12|500:11.5",
                ),
            ]
        ),
    )

    response = await client.get(EXPORT_URL, headers=catalog.headers["viewer"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="catalog.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert read_csv(response.content) == [
        list(COLUMNS),
        [
            "A-1",
            "Hex bolt A-1",
            'Line one\nline two, "quoted"',
            "",
            "piece",
            "EUR",
            "100",
            "",
            "12000",
            "5",
            "draft",
            "100:12.00|500:11.50",
            '{"colour":"grün","size":"M8"}',
            "",
        ],
        [
            "B-2",
            "Hex bolt B-2",
            "Zinc plated, DIN 933.",
            slug,
            "piece",
            "EUR",
            "100",
            "50",
            "12000",
            "5",
            "active",
            "100:0.25|1000:0.19",
            '{"material":"steel"}',
            "",
        ],
    ]


async def test_semicolon_export_for_decimal_comma_spreadsheets(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    await _import(client, catalog, csv_bytes([product_row("S-1")]))

    response = await client.get(
        EXPORT_URL, params={"separator": "semicolon"}, headers=catalog.headers["owner"]
    )

    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header == ";".join(COLUMNS)


async def test_formula_cells_are_neutralised_on_export_and_restored_on_import(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    # Written as a spreadsheet user who exported them would have them: guarded.
    rows = [
        product_row(f"F-{index}", name=guarded, description=guarded)
        for index, guarded in enumerate(FORMULAS.values())
    ]
    await _import(client, catalog, csv_bytes(rows))
    stored = await products_of(db_session, catalog.supplier_id)
    assert [product["name"] for product in stored] == list(FORMULAS)

    exported = await client.get(EXPORT_URL, headers=catalog.headers["owner"])
    cells = read_csv(exported.content)[1:]
    name, description = COLUMNS.index("name"), COLUMNS.index("description")
    assert [row[name] for row in cells] == list(FORMULAS.values())
    assert [row[description] for row in cells] == list(FORMULAS.values())
    # No exported cell starts a formula.
    for row in cells:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", cell

    job = await _import(client, catalog, exported.content)
    assert job["counts"] == {"created": 0, "updated": 0, "unchanged": len(FORMULAS), "failed": 0}
    assert await products_of(db_session, catalog.supplier_id) == stored


async def test_round_trip_export_then_import_changes_nothing(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    slug = catalog.category_slugs[0]
    await _import(
        client,
        catalog,
        csv_bytes(
            [
                product_row(f"RT-{index:03d}", category=slug if index % 2 else "", stock=str(index))
                for index in range(60)
            ]
            + [
                product_row(
                    "RT-ODD",
                    description="  leading and trailing space \r\nCRLF inside ",
                    moq="2.5",
                    order_multiple="0.5",
                    unit="kg",
                    tiers="2.5:3.1234|10:2.9",
                    lead_time_days="0",
                    attributes="",
                    status="archived",
                )
            ]
        ),
    )
    before = await products_of(db_session, catalog.supplier_id)
    assert len(before) == 61

    for separator in ("comma", "semicolon"):
        exported = await client.get(
            EXPORT_URL, params={"separator": separator}, headers=catalog.headers["owner"]
        )
        job = await _import(client, catalog, exported.content)

        assert job["status"] == "completed"
        assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 61, "failed": 0}
        assert await products_of(db_session, catalog.supplier_id) == before  # updated_at too


async def test_export_streams_page_by_page(
    client: httpx.AsyncClient,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _import(client, catalog, csv_bytes([product_row(f"P-{index:02d}") for index in range(7)]))
    monkeypatch.setattr(service, "EXPORT_PAGE_ROWS", 3)
    pages: list[int] = []
    real_page = service.repository.products_page

    async def counting_page(*args: object, **kwargs: object) -> list[object]:
        page = await real_page(*args, **kwargs)  # type: ignore[arg-type]
        pages.append(len(page))
        return page  # type: ignore[return-value]

    monkeypatch.setattr(service.repository, "products_page", counting_page)

    async with client.stream("GET", EXPORT_URL, headers=catalog.headers["owner"]) as response:
        chunks = [chunk async for chunk in response.aiter_raw()]

    assert pages == [3, 3, 1, 0]
    rows = read_csv(b"".join(chunks))
    assert [row[0] for row in rows[1:]] == [f"P-{index:02d}" for index in range(7)]


async def test_export_holds_only_the_callers_catalog(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    await _import(client, catalog, csv_bytes([product_row("MINE-1")]))

    theirs = await client.get(EXPORT_URL, headers=catalog.headers["other_supplier"])

    assert theirs.status_code == 200
    assert read_csv(theirs.content) == [list(COLUMNS)]


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("anonymous", 401),
        ("outsider_naming_supplier", 404),
        ("buyer_owner", 403),
        ("viewer", 200),
        ("purchaser", 200),
        ("sales", 200),
        ("api_key_read", 200),
        ("api_key_write", 200),
    ],
)
async def test_who_may_export(
    client: httpx.AsyncClient, catalog: Catalog, caller: str, status: int
) -> None:
    response = await client.get(EXPORT_URL, headers=catalog.headers[caller])

    if status == 200:
        assert response.status_code == 200
    else:
        assert_problem(response, status)
