"""A supplier with a member of every role, the companies around it, and helpers to
upload files and run their jobs.

Request tests share the test's rolled-back transaction (see tests/conftest.py); the
import runner and the streamed downloads open sessions of their own, so here they are
handed sessions on that same connection (`test_sessions`), and jobs are run by the
test (`run_jobs`) instead of in the background. Tests of the background runner itself
(crash, resume) commit for real: see `committed_supplier`.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from marketplace.catalog.categories.models import Category
from marketplace.catalog.imports import router as imports_router
from marketplace.catalog.imports import service
from marketplace.catalog.imports.schemas import COLUMNS
from marketplace.companies.permissions import Scope
from marketplace.core.db import to_async_url
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_company,
    make_user,
    platform_of,
)

ROLES = ("owner", "admin", "purchaser", "sales", "viewer")
IMPORT_URL = "/api/v1/products/import"
EXPORT_URL = "/api/v1/products/export"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url=database_url, storage_dir=tmp_path / "storage", import_batch_rows=50
    )


class RecordingRunner:
    """Stands in for the background runner: remembers what it was asked to launch."""

    def __init__(self) -> None:
        self.launched: list[uuid.UUID] = []
        self.sweeps = 0

    def launch(self, job_id: uuid.UUID, *, resume: bool = False) -> None:
        self.launched.append(job_id)

    async def sweep(self) -> list[uuid.UUID]:
        self.sweeps += 1
        return []


@pytest.fixture
def test_sessions(db_session: AsyncSession) -> service.Sessions:
    """Sessions on the test's connection: their commits release savepoints of the
    test's transaction, so the runner sees the test's data and leaves nothing behind."""
    connection = db_session.bind
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def runner(app: FastAPI, test_sessions: service.Sessions) -> RecordingRunner:
    recording = RecordingRunner()
    app.dependency_overrides[imports_router.get_import_runner] = lambda: recording
    app.dependency_overrides[imports_router.get_sessions] = lambda: test_sessions
    return recording


@dataclass
class Catalog:
    """Supplier S (under test) with its members, and everyone around it."""

    supplier_id: uuid.UUID
    headers: dict[str, dict[str, str]]
    category_slugs: list[str]
    other_supplier_id: uuid.UUID
    buyer_id: uuid.UUID
    runner: RecordingRunner
    sessions: service.Sessions
    app: FastAPI
    extra: dict[str, Any] = field(default_factory=dict)

    async def run_jobs(self) -> None:
        """Run every job launched so far, as the background runner would."""
        launched, self.runner.launched = self.runner.launched, []
        for job_id in launched:
            await service.run_import_job(platform_of(self.app), job_id, sessions=self.sessions)


async def make_categories(session: AsyncSession, count: int = 3) -> list[str]:
    slugs = []
    suffix = uuid.uuid4().hex[:6]
    for index in range(count):
        slug = f"import-test-{index}-{suffix}"
        session.add(Category(id=uuid.uuid4(), slug=slug, name=f"Category {index}", path=slug))
        slugs.append(slug)
    await session.flush()
    return slugs


@pytest.fixture
async def catalog(
    app: FastAPI, db_session: AsyncSession, runner: RecordingRunner, test_sessions: Any
) -> Catalog:
    supplier = await make_company(
        db_session, name="Acme Fasteners", kind="supplier", verification_status="verified"
    )
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES:
        user = await make_user(db_session, name=f"{role.title()} Person")
        await add_member(db_session, supplier, user, role)
        headers[role] = await bearer_headers(app, db_session, user, supplier)

    other_owner = await make_user(db_session, name="Other Supplier Owner")
    other = await make_company(db_session, name="Beta Tools", kind="both", owner=other_owner)
    headers["other_supplier"] = await bearer_headers(app, db_session, other_owner, other)
    # A member of the other company naming supplier S in X-Company-ID.
    headers["outsider_naming_supplier"] = await bearer_headers(
        app, db_session, other_owner, supplier
    )

    buyer_owner = await make_user(db_session, name="Buyer Owner")
    buyer = await make_company(db_session, name="Gamma Buying", kind="buyer", owner=buyer_owner)
    headers["buyer_owner"] = await bearer_headers(app, db_session, buyer_owner, buyer)

    _key, headers["api_key_write"] = await make_api_key(
        app, db_session, supplier, [Scope.CATALOG_WRITE]
    )
    _key, headers["api_key_read"] = await make_api_key(
        app, db_session, supplier, [Scope.CATALOG_READ, Scope.ORDERS_WRITE]
    )
    return Catalog(
        supplier_id=supplier.id,
        headers=headers,
        category_slugs=await make_categories(db_session),
        other_supplier_id=other.id,
        buyer_id=buyer.id,
        runner=runner,
        sessions=test_sessions,
        app=app,
    )


# --- files -----------------------------------------------------------------------------


def product_row(sku: str, **overrides: str) -> dict[str, str]:
    row = {
        "sku": sku,
        "name": f"Hex bolt {sku}",
        "description": "Zinc plated, DIN 933.",
        "category": "",
        "unit": "piece",
        "currency": "EUR",
        "moq": "100",
        "order_multiple": "50",
        "stock": "12000",
        "lead_time_days": "5",
        "status": "active",
        "tiers": "100:0.25|1000:0.19",
        "attributes": '{"material":"steel"}',
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: Iterable[dict[str, str]],
    *,
    columns: Sequence[str] = COLUMNS,
    separator: str = ",",
    bom: bool = False,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    data = buffer.getvalue().encode()
    return b"\xef\xbb\xbf" + data if bom else data


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    filename: str = "catalog.csv",
) -> httpx.Response:
    return await client.post(
        IMPORT_URL, headers=headers, files={"file": (filename, data, "text/csv")}
    )


def read_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def count(session: AsyncSession, query: str, **params: Any) -> int:
    return int((await session.execute(text(query), params)).scalar_one())


async def created_in_this_test(session: AsyncSession, table: str) -> int:
    """Rows of `table` this test inserted: now() is its transaction's start, their
    `created_at`; rows other tests of this run committed before it are older."""
    return await count(session, f"SELECT count(*) FROM {table} WHERE created_at >= now()")


async def products_of(session: AsyncSession, supplier_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every stored field of the supplier's products and their tiers, by SKU."""
    rows = await session.execute(
        text(
            "SELECT p.*, (SELECT json_agg(json_build_array(t.min_qty::text, t.unit_price::text)"
            " ORDER BY t.min_qty) FROM price_tiers t WHERE t.product_id = p.id) AS tiers"
            " FROM products p WHERE p.supplier_id = :supplier ORDER BY p.sku"
        ),
        {"supplier": supplier_id},
    )
    return [dict(row._mapping) for row in rows]


# --- committed data (background runner tests) -----------------------------------------


@dataclass
class CommittedSupplier:
    supplier_id: uuid.UUID
    user_id: uuid.UUID
    sessions: service.Sessions


@pytest.fixture
async def committed_supplier(database_url: str) -> AsyncIterator[CommittedSupplier]:
    """A supplier committed for real (the runner's own sessions must see it), removed
    with everything it owns afterwards."""
    engine = create_async_engine(to_async_url(database_url))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        user = await make_user(session, name="Committed Owner")
        supplier = await make_company(
            session, name="Committed Supplier", kind="supplier", verification_status="verified"
        )
        await add_member(session, supplier, user, "owner")
        supplier_id, user_id = supplier.id, user.id
    try:
        yield CommittedSupplier(supplier_id=supplier_id, user_id=user_id, sessions=sessions)
    finally:
        async with sessions() as session, session.begin():
            await session.execute(text("DELETE FROM companies WHERE id = :id"), {"id": supplier_id})
            await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
        await engine.dispose()
