"""The background job: batches and progress, a crash mid-way and its resumption, two
runners on one job, failures that end a job, and the in-process launch after upload.

The crash tests commit for real: a crash is the runner's own transactions stopping
half-way, which a test's enclosing transaction would hide."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.imports import repository, service
from marketplace.catalog.imports.service import ImportRunner
from marketplace.core.platform import Platform
from marketplace.identity import service as identity
from marketplace.identity.models import User
from marketplace.settings import Settings
from tests.catalog.imports.conftest import (
    IMPORT_URL,
    Catalog,
    CommittedSupplier,
    count,
    created_in_this_test,
    csv_bytes,
    product_row,
    upload,
)
from tests.conftest import client_for, started_app
from tests.factories import platform_of

BATCH = 50  # settings.import_batch_rows in these tests


def _rows(total: int, *, invalid_every: int = 0) -> bytes:
    """`total` product rows; every `invalid_every`-th has a negative stock."""
    return csv_bytes(
        product_row(
            f"SKU-{index:05d}",
            stock="-1" if invalid_every and index % invalid_every == 0 else str(index),
        )
        for index in range(1, total + 1)
    )


async def test_large_file_is_applied_in_batches_with_progress_after_each(
    client: httpx.AsyncClient,
    catalog: Catalog,
    db_session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total, batch = 2000, 400
    platform_of(catalog.app).settings.import_batch_rows = batch
    response = await upload(client, catalog.headers["owner"], _rows(total, invalid_every=100))
    job_id = uuid.UUID(response.json()["id"])
    progress: list[tuple[int, int]] = []
    real_record = repository.record_batch

    async def recording(session: AsyncSession, job: uuid.UUID, **counts: int) -> None:
        await real_record(session, job, **counts)
        stored = await repository.get_job(session, job)
        assert stored is not None
        progress.append((counts["rows"], stored.processed_rows))

    monkeypatch.setattr(repository, "record_batch", recording)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    try:
        await catalog.run_jobs()
    finally:
        ticking.cancel()

    assert progress == [(batch, batch * (number + 1)) for number in range(total // batch)]
    # The loop kept serving other tasks all along: the import yields between rows.
    assert ticks > total
    job = (await client.get(f"{IMPORT_URL}/{job_id}", headers=catalog.headers["owner"])).json()
    assert job["status"] == "completed"
    assert job["progress"] == {"rows_done": total, "rows_total": total, "percent": 100}
    assert job["counts"] == {"created": 1980, "updated": 0, "unchanged": 0, "failed": 20}
    assert await created_in_this_test(db_session, "products") == 1980
    assert await count(db_session, "SELECT count(*) FROM catalog_import_errors") == 20


async def test_reading_a_stale_job_asks_for_its_resumption(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    response = await upload(client, catalog.headers["owner"], _rows(3))
    job_id = response.json()["id"]
    url = f"{IMPORT_URL}/{job_id}"
    await client.get(url, headers=catalog.headers["owner"])
    assert catalog.runner.sweeps == 0  # fresh: its launch is on its way

    await db_session.execute(
        text(
            "UPDATE catalog_import_jobs SET status = 'running',"
            " updated_at = now() - interval '1 hour' WHERE id = :id"
        ),
        {"id": job_id},
    )
    await client.get(url, headers=catalog.headers["owner"])

    assert catalog.runner.sweeps == 1


# --- committed: a real runner on its own sessions ---------------------------------------


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    platform = await Platform.start(settings)
    yield platform
    await platform.close()


async def _queue(platform: Platform, supplier: CommittedSupplier, data: bytes) -> uuid.UUID:
    actor: Any = SimpleNamespace(
        company=SimpleNamespace(kind="supplier"),
        company_id=supplier.supplier_id,
        user_id=supplier.user_id,
        api_key_id=None,
    )
    async with supplier.sessions() as session, session.begin():
        job = await service.start_import(session, platform, actor, filename="big.csv", data=data)
    return job.id


async def _job(supplier: CommittedSupplier, job_id: uuid.UUID) -> dict[str, Any]:
    async with supplier.sessions() as session:
        row = await session.execute(
            text("SELECT * FROM catalog_import_jobs WHERE id = :id"), {"id": job_id}
        )
        return dict(row.one()._mapping)


async def _counts(supplier: CommittedSupplier, job_id: uuid.UUID) -> tuple[int, int, int]:
    """Products of the supplier, error rows of the job, distinct erroneous rows."""
    async with supplier.sessions() as session:
        products = await count(
            session, "SELECT count(*) FROM products WHERE supplier_id = :s", s=supplier.supplier_id
        )
        errors = await count(
            session, "SELECT count(*) FROM catalog_import_errors WHERE job_id = :j", j=job_id
        )
        rows = await count(
            session,
            "SELECT count(DISTINCT row_number) FROM catalog_import_errors WHERE job_id = :j",
            j=job_id,
        )
    return products, errors, rows


async def _make_stale(supplier: CommittedSupplier, job_id: uuid.UUID) -> None:
    async with supplier.sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE catalog_import_jobs SET updated_at = now() - interval '1 hour'"
                " WHERE id = :id"
            ),
            {"id": job_id},
        )


async def test_a_crash_mid_batch_leaves_a_running_job_that_resumes_exactly(
    platform: Platform,
    committed_supplier: CommittedSupplier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total = 4 * BATCH + 7
    job_id = await _queue(platform, committed_supplier, _rows(total, invalid_every=20))
    real_apply = service.apply_rows
    batches = 0
    stuck = asyncio.Event()

    async def crashing_apply(session: AsyncSession, supplier_id: uuid.UUID, rows: Any) -> Any:
        nonlocal batches
        batches += 1
        result = await real_apply(session, supplier_id, rows)
        if batches == 3:
            stuck.set()
            await asyncio.Event().wait()  # the process dies here, mid-transaction
        return result

    monkeypatch.setattr(service, "apply_rows", crashing_apply)
    task = asyncio.create_task(service.run_import_job(platform, job_id))
    await asyncio.wait_for(stuck.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Two batches are in, completely; the third rolled back whole.
    job = await _job(committed_supplier, job_id)
    assert job["status"] == "running"
    assert job["processed_rows"] == 2 * BATCH
    assert (job["created_count"], job["failed_count"]) == (2 * BATCH - 5, 5)
    assert await _counts(committed_supplier, job_id) == (2 * BATCH - 5, 5, 5)

    monkeypatch.setattr(service, "apply_rows", real_apply)
    runner = ImportRunner(platform)
    assert await runner.sweep() == []  # its heartbeat is fresh: its runner may be alive

    await _make_stale(committed_supplier, job_id)
    assert await runner.sweep() == [job_id]
    await runner.wait()

    job = await _job(committed_supplier, job_id)
    failed = total // 20
    assert job["status"] == "completed"
    assert job["processed_rows"] == total
    assert (job["created_count"], job["updated_count"], job["failed_count"]) == (
        total - failed,
        0,
        failed,
    )
    assert job["error"] is None
    assert await _counts(committed_supplier, job_id) == (total - failed, failed, failed)


async def test_a_resumed_job_still_reports_duplicate_skus_of_rows_before_the_crash(
    platform: Platform, committed_supplier: CommittedSupplier
) -> None:
    rows = [product_row(f"D-{index:03d}") for index in range(BATCH)]
    rows.append(product_row("D-001", name="Repeated"))
    job_id = await _queue(platform, committed_supplier, csv_bytes(rows))
    # As if a runner had applied the first batch and died.
    async with committed_supplier.sessions() as session, session.begin():
        job = await repository.claim_job(session, job_id, service.stale_after(platform), fresh=True)
        assert job is not None
        result = await service.apply_rows(
            session,
            committed_supplier.supplier_id,
            service.RowSource(csv_bytes(rows)).next_batch(BATCH),
        )
        await repository.record_batch(
            session, job_id, rows=BATCH, created=result.created, updated=0, failed=0
        )
    await _make_stale(committed_supplier, job_id)

    await service.run_import_job(platform, job_id, resume=True)

    job_row = await _job(committed_supplier, job_id)
    assert (job_row["status"], job_row["created_count"], job_row["failed_count"]) == (
        "completed",
        BATCH,
        1,
    )
    async with committed_supplier.sessions() as session:
        message = await session.scalar(
            text("SELECT message FROM catalog_import_errors WHERE job_id = :j"), {"j": job_id}
        )
    assert message == "the SKU 'D-001' already appears on row 3; each SKU once per file"


async def test_two_runners_on_one_job_apply_it_once(
    platform: Platform, committed_supplier: CommittedSupplier
) -> None:
    total = 3 * BATCH
    job_id = await _queue(platform, committed_supplier, _rows(total))

    await asyncio.gather(
        service.run_import_job(platform, job_id), service.run_import_job(platform, job_id)
    )

    job = await _job(committed_supplier, job_id)
    assert (job["status"], job["processed_rows"], job["created_count"]) == (
        "completed",
        total,
        total,
    )
    assert await _counts(committed_supplier, job_id) == (total, 0, 0)


async def test_an_unexpected_error_ends_the_job_failed_with_how_far_it_got(
    platform: Platform,
    committed_supplier: CommittedSupplier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job_id = await _queue(platform, committed_supplier, _rows(3 * BATCH))
    real_apply = service.apply_rows
    batches = 0

    async def failing_apply(session: AsyncSession, supplier_id: uuid.UUID, rows: Any) -> Any:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise RuntimeError("disk on fire")
        return await real_apply(session, supplier_id, rows)

    monkeypatch.setattr(service, "apply_rows", failing_apply)

    await service.run_import_job(platform, job_id)

    job = await _job(committed_supplier, job_id)
    assert job["status"] == "failed"
    assert job["processed_rows"] == BATCH
    assert job["finished_at"] is not None
    assert job["error"] == (
        "The import stopped after an internal error (RuntimeError). Rows counted as done "
        "were applied; importing the same file again is safe, since rows are matched by SKU."
    )
    assert await _counts(committed_supplier, job_id) == (BATCH, 0, 0)
    # An ended job is never taken up again.
    await _make_stale(committed_supplier, job_id)
    assert await ImportRunner(platform).sweep() == []


async def test_a_job_whose_file_is_gone_fails_clearly(
    platform: Platform, committed_supplier: CommittedSupplier
) -> None:
    job_id = await _queue(platform, committed_supplier, _rows(3))
    await platform.storage.delete_prefix(f"imports/{committed_supplier.supplier_id}")

    await service.run_import_job(platform, job_id)

    job = await _job(committed_supplier, job_id)
    assert (job["status"], job["error"]) == ("failed", "The uploaded file is no longer available.")


async def test_upload_runs_in_the_background_of_the_serving_process(
    settings: Settings, committed_supplier: CommittedSupplier
) -> None:
    async for app in started_app(settings):
        async with committed_supplier.sessions() as session, session.begin():
            user = await session.get(User, committed_supplier.user_id)
            assert user is not None
            tokens = await identity.start_token_session(
                session, platform_of(app), user, identity.ClientInfo(ip="127.0.0.1", user_agent="t")
            )
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        async with client_for(app) as client:
            response = await upload(client, headers, _rows(2 * BATCH + 1))
            assert response.status_code == 202, response.text
            location = response.headers["location"]
            for _attempt in range(200):
                job = (await client.get(location, headers=headers)).json()
                if job["status"] == "completed":
                    break
                await asyncio.sleep(0.05)
        assert job["status"] == "completed", job
        assert job["counts"]["created"] == 2 * BATCH + 1
