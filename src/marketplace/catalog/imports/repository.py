"""Every query of catalog imports and exports.

Job ownership: a supplier reads its jobs and products through the tenancy gate
(`core.tenancy`); the runner, which acts for no request, says so (`RUNNER`). The
runner's writes are conditional updates: a batch is claimed with the
`processed_rows` it expects, so two runners can never both apply the same batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ARRAY, String, Table, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from marketplace.catalog.imports.models import ImportJob, ImportRowError
from marketplace.catalog.imports.schemas import COLUMNS
from marketplace.catalog.models import PriceTier, Product
from marketplace.core.tenancy import changeable, readable, unscoped

# Transaction-level advisory locks of one supplier's catalog writes by imports.
_SUPPLIER_IMPORT_LOCK = 0x1A0C
RUNNER = "the import runner, outside any request, on a job its supplier started"


async def add_job(session: AsyncSession, job: ImportJob) -> ImportJob:
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def supplier_job(
    session: AsyncSession, supplier_id: uuid.UUID, job_id: uuid.UUID
) -> ImportJob | None:
    statement = readable(select(ImportJob), ImportJob, supplier_id).where(ImportJob.id == job_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> ImportJob | None:
    statement = (
        unscoped(select(ImportJob), reason=RUNNER)
        .where(ImportJob.id == job_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def claim_job(
    session: AsyncSession, job_id: uuid.UUID, stale_after: timedelta, *, fresh: bool
) -> ImportJob | None:
    """Take the job to run it: a queued job (`fresh`: just launched, at any age), or a
    queued or running one whose heartbeat is older than `stale_after` (its runner died).
    Returns the claimed job, or None when someone else runs it or it has ended."""
    stale = ImportJob.status.in_(("queued", "running")) & (
        ImportJob.updated_at < func.now() - stale_after
    )
    condition = or_(ImportJob.status == "queued", stale) if fresh else stale
    statement = (
        unscoped(update(ImportJob), reason=RUNNER)
        .where(ImportJob.id == job_id, condition)
        .values(
            status="running",
            started_at=func.coalesce(ImportJob.started_at, func.now()),
            updated_at=func.clock_timestamp(),
        )
        .returning(ImportJob)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def stale_job_ids(
    session: AsyncSession, stale_after: timedelta, limit: int = 100
) -> list[uuid.UUID]:
    """Jobs nobody is running: queued or running with a heartbeat older than
    `stale_after` (the process that held them stopped)."""
    stale_before = func.now() - stale_after
    statement = (
        unscoped(select(ImportJob.id), reason=RUNNER)
        .where(ImportJob.status.in_(("queued", "running")), ImportJob.updated_at < stale_before)
        .order_by(ImportJob.created_at)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def claim_batch(session: AsyncSession, job_id: uuid.UUID, processed_rows: int) -> bool:
    """Start a batch: beat the heartbeat and lock the job row for this transaction, if
    the job is still running at `processed_rows` (else another runner took it over)."""
    statement = (
        unscoped(update(ImportJob), reason=RUNNER)
        .where(
            ImportJob.id == job_id,
            ImportJob.status == "running",
            ImportJob.processed_rows == processed_rows,
        )
        .values(updated_at=func.clock_timestamp())
        .returning(ImportJob.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def lock_supplier_catalog(session: AsyncSession, supplier_id: uuid.UUID) -> None:
    """Serialise the import batches of one supplier (until the transaction ends), so
    that two imports of the same catalog never lock its products in opposite orders."""
    await session.execute(
        select(func.pg_advisory_xact_lock(_SUPPLIER_IMPORT_LOCK, func.hashtext(str(supplier_id))))
    )


async def record_batch(
    session: AsyncSession,
    job_id: uuid.UUID,
    *,
    rows: int,
    created: int,
    updated: int,
    failed: int,
) -> None:
    await session.execute(
        unscoped(update(ImportJob), reason=RUNNER)
        .where(ImportJob.id == job_id)
        .values(
            processed_rows=ImportJob.processed_rows + rows,
            created_count=ImportJob.created_count + created,
            updated_count=ImportJob.updated_count + updated,
            failed_count=ImportJob.failed_count + failed,
            updated_at=func.clock_timestamp(),
        )
    )


async def add_row_errors(
    session: AsyncSession, job_id: uuid.UUID, errors: Sequence[tuple[int, str, str]]
) -> None:
    if not errors:
        return
    await session.execute(
        insert(ImportRowError),
        [
            {"job_id": job_id, "row_number": row, "column": column, "message": message}
            for row, column, message in errors
        ],
    )


async def finish_job(
    session: AsyncSession,
    job_id: uuid.UUID,
    status: str,
    *,
    error: str | None = None,
    only_if_processed: int | None = None,
) -> bool:
    statement = unscoped(update(ImportJob), reason=RUNNER).where(
        ImportJob.id == job_id, ImportJob.status.in_(("queued", "running"))
    )
    if only_if_processed is not None:
        statement = statement.where(ImportJob.processed_rows == only_if_processed)
    result = await session.execute(
        statement.values(
            status=status, error=error, finished_at=func.now(), updated_at=func.clock_timestamp()
        ).returning(ImportJob.id)
    )
    return result.scalar_one_or_none() is not None


async def last_error_row(session: AsyncSession, job_id: uuid.UUID) -> int:
    statement = select(func.coalesce(func.max(ImportRowError.row_number), 0)).where(
        ImportRowError.job_id == job_id
    )
    return int((await session.execute(statement)).scalar_one())


async def row_errors_between(
    session: AsyncSession, job_id: uuid.UUID, first_row: int, last_row: int
) -> list[ImportRowError]:
    """The errors of rows `first_row..last_row`, by row, then in the file format's
    column order (row-wide errors first)."""
    column_order = func.array_position(
        literal(list(COLUMNS), ARRAY(String())), ImportRowError.column
    )
    statement = (
        select(ImportRowError)
        .where(
            ImportRowError.job_id == job_id,
            ImportRowError.row_number.between(first_row, last_row),
        )
        .order_by(ImportRowError.row_number, column_order.nulls_first(), ImportRowError.message)
    )
    return list((await session.execute(statement)).scalars())


# --- products --------------------------------------------------------------------------


async def category_ids_by_slug(session: AsyncSession) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(Category.slug, Category.id))
    return {row.slug: row.id for row in rows}


async def category_slugs_by_id(session: AsyncSession) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Category.id, Category.slug))
    return {row.id: row.slug for row in rows}


@dataclass(frozen=True)
class StoredProduct:
    updated_at: datetime
    parent_id: uuid.UUID | None


async def stored_by_sku(
    session: AsyncSession, supplier_id: uuid.UUID, skus: Sequence[str]
) -> dict[str, StoredProduct]:
    """The write time and family head of the supplier's products with these SKUs."""
    if not skus:
        return {}
    columns = select(Product.sku, Product.updated_at, Product.parent_id)
    statement = changeable(columns, Product, supplier_id).where(Product.sku.in_(skus))
    return {
        row.sku: StoredProduct(updated_at=row.updated_at, parent_id=row.parent_id)
        for row in await session.execute(statement)
    }


async def products_page(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    after_sku: str | None,
    limit: int,
    *,
    variants: bool,
) -> list[Product]:
    """One page of the supplier's variants, or of its other products, in SKU order
    (the unique (supplier_id, sku) index serves it)."""
    statement = readable(select(Product), Product, supplier_id).where(
        Product.parent_id.is_not(None) if variants else Product.parent_id.is_(None),
    )
    if after_sku is not None:
        statement = statement.where(Product.sku > after_sku)
    statement = statement.order_by(Product.sku).limit(limit)
    return list((await session.execute(statement)).scalars())


async def skus_of(
    session: AsyncSession, supplier_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not product_ids:
        return {}
    statement = readable(select(Product.id, Product.sku), Product, supplier_id)
    rows = await session.execute(statement.where(Product.id.in_(set(product_ids))))
    return {row.id: row.sku for row in rows}


async def tiers_of(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PriceTier]]:
    tiers: dict[uuid.UUID, list[PriceTier]] = {product_id: [] for product_id in product_ids}
    if not product_ids:
        return tiers
    statement = (
        select(PriceTier)
        .where(PriceTier.product_id.in_(product_ids))
        .order_by(PriceTier.product_id, PriceTier.min_qty)
    )
    for tier in (await session.execute(statement)).scalars():
        tiers[tier.product_id].append(tier)
    return tiers


async def existing_skus(session: AsyncSession, supplier_id: uuid.UUID) -> set[str]:
    statement = readable(select(Product.sku), Product, supplier_id)
    return set((await session.execute(statement)).scalars())


async def insert_products(
    session: AsyncSession,
    products: Sequence[dict[str, Any]],
    tiers: Sequence[dict[str, Any]],
) -> None:
    """Bulk insert of new, already validated products and their tiers (two statements,
    sent as multi-row VALUES): for loading data sets, where one write per product
    would take minutes."""
    # Core inserts of the tables: no ORM bookkeeping for rows nobody reads back.
    if products:
        await session.execute(insert(cast(Table, Product.__table__)), products)
    if tiers:
        await session.execute(insert(cast(Table, PriceTier.__table__)), tiers)
