"""A finished import is announced once, as `product.imported` with its counts, to
the supplier alone: not one event per row."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.imports import service
from marketplace.catalog.imports.models import ImportJob
from marketplace.core.outbox import OutboxEvent
from tests.catalog.imports.conftest import Catalog, csv_bytes, product_row, upload
from tests.factories import platform_of


async def events_since(session: AsyncSession, mark: int) -> list[OutboxEvent]:
    rows = await session.execute(
        select(OutboxEvent).where(OutboxEvent.seq > mark).order_by(OutboxEvent.seq)
    )
    return list(rows.scalars())


async def test_an_import_is_one_event_with_its_counts(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    owner = catalog.headers["owner"]
    first = await upload(client, owner, csv_bytes([product_row("BOLT-M8")]))
    assert first.status_code == 202, first.text
    await catalog.run_jobs()
    mark = int(await db_session.scalar(select(func.max(OutboxEvent.seq))) or 0)

    data = csv_bytes(
        [
            product_row("BOLT-M8", name="Hex bolt, renamed"),
            product_row("NUT-M8"),
            product_row("WASHER-M8"),
            product_row("BAD-ROW", moq="abc"),
        ]
    )
    response = await upload(client, owner, data, filename="spring.csv")
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    await catalog.run_jobs()
    # Running the ended job again (another runner, a redelivery) announces nothing.
    await service.run_import_job(
        platform_of(catalog.app), uuid.UUID(job_id), sessions=catalog.sessions
    )

    recorded = await events_since(db_session, mark)
    assert [event.type for event in recorded] == ["product.imported"]
    [event] = recorded
    assert event.aggregate_type == "import_job"
    assert event.aggregate_id == uuid.UUID(job_id)
    assert list(event.company_ids) == [catalog.supplier_id]
    job = await db_session.get(ImportJob, uuid.UUID(job_id), populate_existing=True)
    assert job is not None
    assert job.created_by_user_id is not None
    assert event.actor_user_id == job.created_by_user_id
    assert event.payload == {
        "job_id": job_id,
        "supplier_id": str(catalog.supplier_id),
        "status": "completed",
        "filename": "spring.csv",
        "total_rows": 4,
        "processed_rows": 4,
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "failed": 1,
    }


async def test_an_import_started_with_an_api_key_names_the_key(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    mark = int(await db_session.scalar(select(func.max(OutboxEvent.seq))) or 0)
    response = await upload(
        client, catalog.headers["api_key_write"], csv_bytes([product_row("BOLT-KEY")])
    )
    assert response.status_code == 202, response.text
    await catalog.run_jobs()

    [event] = await events_since(db_session, mark)
    assert event.type == "product.imported"
    job = await db_session.get(ImportJob, uuid.UUID(response.json()["id"]), populate_existing=True)
    assert job is not None
    assert job.created_by_user_id is None
    assert job.created_by_api_key_id is not None
    assert event.actor_api_key_id == job.created_by_api_key_id
    assert event.actor_user_id is None


async def test_a_refused_file_announces_nothing(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    mark = int(await db_session.scalar(select(func.max(OutboxEvent.seq))) or 0)
    response = await upload(client, catalog.headers["owner"], b"sku,name\n")
    assert response.status_code == 422, response.text
    await catalog.run_jobs()
    assert await events_since(db_session, mark) == []
