"""Who may import, and who may see a job: every kind of caller. Denied calls write
nothing (no job, no stored file, no product) and launch nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.imports.conftest import (
    IMPORT_URL,
    Catalog,
    created_in_this_test,
    csv_bytes,
    product_row,
    upload,
)
from tests.companies.conftest import assert_problem

IMPORT_CALLERS = [
    ("anonymous", 401),
    ("outsider_naming_supplier", 404),
    ("buyer_owner", 403),
    ("viewer", 403),
    ("purchaser", 403),
    ("api_key_read", 403),
    ("sales", 202),
    ("admin", 202),
    ("owner", 202),
    ("api_key_write", 202),
]


def _stored_files(catalog: Catalog) -> list[Path]:
    root = catalog.app.state.settings.storage_dir
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize(("caller", "status"), IMPORT_CALLERS)
async def test_who_may_import(
    client: httpx.AsyncClient,
    catalog: Catalog,
    db_session: AsyncSession,
    caller: str,
    status: int,
) -> None:
    response = await upload(client, catalog.headers[caller], csv_bytes([product_row("AUTH-1")]))

    if status == 202:
        assert response.status_code == 202, response.text
        assert await created_in_this_test(db_session, "catalog_import_jobs") == 1
        assert len(catalog.runner.launched) == 1
        return
    assert_problem(response, status)
    assert await created_in_this_test(db_session, "catalog_import_jobs") == 0
    assert await created_in_this_test(db_session, "products") == 0
    assert _stored_files(catalog) == []
    assert catalog.runner.launched == []


async def test_job_records_who_started_it(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    await upload(client, catalog.headers["api_key_write"], csv_bytes([product_row("K-1")]))
    await upload(client, catalog.headers["sales"], csv_bytes([product_row("S-1")]))

    rows = await db_session.execute(
        text(
            "SELECT j.supplier_id, u.name FROM catalog_import_jobs j"
            " LEFT JOIN users u ON u.id = j.created_by_user_id ORDER BY j.created_at, u.name"
        )
    )
    assert sorted((str(row[0]), row[1] or "") for row in rows) == [
        (str(catalog.supplier_id), ""),  # the API key: no user
        (str(catalog.supplier_id), "Sales Person"),
    ]


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("anonymous", 401),
        ("other_supplier", 404),  # its own company: the job is not one of its jobs
        ("outsider_naming_supplier", 404),
        ("buyer_owner", 403),
        ("viewer", 200),
        ("purchaser", 200),
        ("sales", 200),
        ("api_key_read", 200),
        ("owner", 200),
    ],
)
@pytest.mark.parametrize("resource", ["job", "errors"])
async def test_who_may_see_a_job_and_its_errors(
    client: httpx.AsyncClient, catalog: Catalog, caller: str, status: int, resource: str
) -> None:
    created = await upload(
        client, catalog.headers["owner"], csv_bytes([product_row("E-1", unit="")])
    )
    job_id = created.json()["id"]
    await catalog.run_jobs()
    url = f"{IMPORT_URL}/{job_id}" + ("/errors.csv" if resource == "errors" else "")

    response = await client.get(url, headers=catalog.headers[caller])

    if status != 200:
        body = assert_problem(response, status)
        assert "counts" not in body
        if status == 404:
            assert body["type"] == "urn:marketplace:problem:not-found"
        return
    assert response.status_code == 200
    if resource == "job":
        assert response.json()["counts"]["failed"] == 1
    else:
        assert "E-1" not in response.text  # row, column, message only
        assert response.text.splitlines()[1].startswith("2,unit,")


async def test_unknown_job_is_404(client: httpx.AsyncClient, catalog: Catalog) -> None:
    response = await client.get(
        f"{IMPORT_URL}/00000000-0000-4000-8000-000000000000", headers=catalog.headers["owner"]
    )
    body = assert_problem(response, 404)
    assert body["detail"] == "The import job does not exist."
