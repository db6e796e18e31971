"""Catalog import and export: accept a file, run it as a resumable job, stream it back.

Import in three steps:

1. `start_import` (in the request): every fault that concerns the file as a whole
   (size, encoding, CSV structure, header, no rows) is found before anything is
   written, and refuses it with a 4xx problem. Otherwise the file is stored and a
   `queued` job created; the request answers 202.
2. `run_import_job` (in the background, a worker can call it too): reads the file in
   batches of `IMPORT_BATCH_ROWS` data rows. Each batch is one transaction that
   upserts its valid rows by SKU, records its invalid rows as row errors, and
   advances the job's `processed_rows` and counts. The job row is the batch's
   heartbeat and fencing token: a batch is claimed only at the `processed_rows` the
   runner expects, so two runners never apply the same batch.
3. Crash safety: a runner that dies leaves a `running` job whose heartbeat
   (`updated_at`) goes stale; its committed batches are complete and consistent with
   `processed_rows`, and the batch it was in rolled back whole. `ImportRunner.sweep()`
   (on start-up, then periodically, and when a stale job is read) claims such a job
   and resumes it at `processed_rows`. Nothing is applied twice and nothing is lost:
   the job is resumed, never silently partial. Any other failure of the runner ends
   the job `failed` with a message that says how far it got.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.catalog.imports import csv_format, repository
from marketplace.catalog.imports.errors import (
    ImportFileBrokenCsv,
    ImportFileEmpty,
    ImportFileHasNoRows,
    ImportFileNotText,
    ImportFileNotUtf8,
    ImportFileTooLarge,
    ImportHeaderInvalid,
    ImportJobNotFound,
    SupplierRequired,
)
from marketplace.catalog.imports.schemas import (
    ImportCounts,
    ImportJobRead,
    ImportProgress,
    ImportStatus,
)
from marketplace.catalog.models import ImportJob, PriceTier, Product
from marketplace.catalog.pricing import Tier, tier_errors
from marketplace.companies.deps import Actor
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

Sessions = async_sessionmaker[AsyncSession]

EXPORT_PAGE_ROWS: Final = 1000
ERROR_REPORT_PAGE_ROWS: Final = 5000
UTF8_BOM: Final = b"\xef\xbb\xbf"
SUPPLIER_KINDS: Final = frozenset({"supplier", "both"})
MAX_FILENAME_CHARACTERS: Final = 255


def ensure_supplier(actor: Actor) -> None:
    if actor.company.kind not in SUPPLIER_KINDS:
        raise SupplierRequired()


# --- 1. accepting a file ---------------------------------------------------------------


def _inspect(data: bytes) -> csv_format.FileSummary:
    """The file's summary, or the 4xx problem that refuses it whole."""
    try:
        return csv_format.inspect_file(data)
    except csv_format.EmptyFile as error:
        raise ImportFileEmpty() from error
    except csv_format.BinaryFile as error:
        raise ImportFileNotText() from error
    except csv_format.NotUtf8 as error:
        raise ImportFileNotUtf8(line=error.line) from error
    except csv_format.BrokenCsv as error:
        raise ImportFileBrokenCsv(
            row=error.row,
            errors=[{"loc": ["file", "row", error.row], "msg": error.reason, "type": "csv"}],
        ) from error
    except csv_format.HeaderError as error:
        raise ImportHeaderInvalid(
            required=", ".join(c for c in csv_format.COLUMNS if c in csv_format.REQUIRED_COLUMNS),
            optional=", ".join(
                c for c in csv_format.COLUMNS if c not in csv_format.REQUIRED_COLUMNS
            ),
            errors=_header_errors(error),
        ) from error
    except csv_format.NoDataRows as error:
        raise ImportFileHasNoRows() from error


def _header_errors(error: csv_format.HeaderError) -> list[dict[str, Any]]:
    return [
        *(
            {"loc": ["file", "header", column], "msg": "required column missing", "type": "missing"}
            for column in error.missing
        ),
        *(
            {"loc": ["file", "header", column], "msg": "unknown column", "type": "unknown"}
            for column in error.unknown
        ),
        *(
            {"loc": ["file", "header", column], "msg": "column repeated", "type": "duplicate"}
            for column in error.duplicate
        ),
    ]


def _safe_filename(filename: str | None) -> str:
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(character for character in name if character.isprintable())
    return name[:MAX_FILENAME_CHARACTERS] or "catalog.csv"


async def start_import(
    session: AsyncSession, platform: Platform, actor: Actor, *, filename: str | None, data: bytes
) -> ImportJob:
    """Check the file as a whole, store it and queue its job. Raises a 4xx problem, and
    writes nothing, when the file cannot be imported at all."""
    ensure_supplier(actor)
    limit = platform.settings.max_import_bytes
    if len(data) > limit:
        raise ImportFileTooLarge(limit=limit)
    summary = await asyncio.to_thread(_inspect, data)
    job_id = uuid.uuid4()
    job = ImportJob(
        id=job_id,
        supplier_id=actor.company_id,
        created_by_user_id=actor.user_id,
        status=ImportStatus.QUEUED.value,
        filename=_safe_filename(filename),
        storage_key=f"imports/{actor.company_id}/{job_id}.csv",
        total_rows=summary.data_rows,
    )
    await platform.storage.put(job.storage_key, data)
    job = await repository.add_job(session, job)
    logger.info(
        "catalog.import.queued",
        job_id=str(job_id),
        supplier_id=str(actor.company_id),
        rows=summary.data_rows,
        bytes=len(data),
    )
    return job


async def get_job(session: AsyncSession, actor: Actor, job_id: uuid.UUID) -> ImportJob:
    ensure_supplier(actor)
    job = await repository.supplier_job(session, actor.company_id, job_id)
    if job is None:
        raise ImportJobNotFound()
    return job


def is_stale(job: ImportJob, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Queued or running, but nobody has touched it for `stale_after`: its runner died."""
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return False
    return job.updated_at < (now or datetime.now(UTC)) - stale_after


def job_read(job: ImportJob, errors_url: str) -> ImportJobRead:
    total = job.total_rows
    done = job.processed_rows
    return ImportJobRead(
        id=job.id,
        status=ImportStatus(job.status),
        filename=job.filename,
        progress=ImportProgress(
            rows_done=done, rows_total=total, percent=100 if total == 0 else done * 100 // total
        ),
        counts=ImportCounts(
            created=job.created_count,
            updated=job.updated_count,
            unchanged=done - job.created_count - job.updated_count - job.failed_count,
            failed=job.failed_count,
        ),
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        errors_url=errors_url,
    )


async def error_report(sessions: Sessions, job_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The job's row errors as CSV (`row,column,message`), in row order, a window of
    `ERROR_REPORT_PAGE_ROWS` file rows at a time.
    The caller has checked that the job belongs to the actor's company."""
    writer = csv_format.CsvWriter(",")
    yield UTF8_BOM + writer.rows([("row", "column", "message")])
    async with sessions() as session:
        last_row = await repository.last_error_row(session, job_id)
    for first_row in range(1, last_row + 1, ERROR_REPORT_PAGE_ROWS):
        async with sessions() as session:
            errors = await repository.row_errors_between(
                session, job_id, first_row, first_row + ERROR_REPORT_PAGE_ROWS - 1
            )
        if errors:
            yield writer.rows(
                (str(error.row_number), error.column, error.message) for error in errors
            )


# --- 2. rows: cells -> product fields ------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row_number: int
    column: str
    message: str


@dataclass(frozen=True)
class ParsedRow:
    """A row's present cells, read into product fields (not yet checked against the
    product rules, which need the stored product for the columns a file leaves out)."""

    row_number: int
    sku: str
    fields: dict[str, Any]


# Product field defaults, for a new product whose file leaves a column out (or empty).
DEFAULTS: Final[dict[str, Any]] = {
    "description": "",
    "category_id": None,
    "moq": Decimal(1),
    "order_multiple": None,
    "stock": Decimal(0),
    "lead_time_days": 0,
    "status": "draft",
    "attributes": {},
}
# Column -> product field, where they differ.
FIELD_OF_COLUMN: Final = {"category": "category_id", "tiers": "tiers"}
COLUMN_OF_FIELD: Final = {field: column for column, field in FIELD_OF_COLUMN.items()}
MAX_SKU_CHARACTERS: Final = 64


def _parse_cell(column: str, value: str, categories: dict[str, uuid.UUID]) -> Any:
    """One cell to its product field value; raises `csv_format.CellError`."""
    if column in ("name", "unit", "currency", "description", "status"):
        return value if value or column not in DEFAULTS else DEFAULTS[column]
    if column == "category":
        if not value:
            return None
        if value not in categories:
            raise csv_format.CellError(f"no category with the slug {value!r}")
        return categories[value]
    if column in ("moq", "order_multiple", "stock"):
        return csv_format.parse_decimal(value) if value else DEFAULTS[column]
    if column == "lead_time_days":
        if not value:
            return DEFAULTS[column]
        if not re.fullmatch(r"[+-]?\d{1,9}", value):
            raise csv_format.CellError(f"{value!r} is not a whole number of days")
        return int(value)
    if column == "tiers":
        return [
            Tier(min_qty=min_qty, unit_price=price)
            for min_qty, price in csv_format.parse_tiers(value)
        ]
    if column == "attributes":
        return csv_format.parse_attributes(value)
    raise AssertionError(f"unhandled column {column}")


def parse_record(
    record: csv_format.Record, categories: dict[str, uuid.UUID]
) -> ParsedRow | list[RowError]:
    errors: list[RowError] = []
    fields: dict[str, Any] = {}
    for column, value in record.cells.items():
        if column == "sku":
            continue
        try:
            fields[FIELD_OF_COLUMN.get(column, column)] = _parse_cell(column, value, categories)
        except csv_format.CellError as error:
            errors.append(RowError(record.row_number, column, str(error)))
    sku = record.cells["sku"]
    if not sku:
        errors.insert(0, RowError(record.row_number, "sku", "the SKU is required"))
    elif len(sku) > MAX_SKU_CHARACTERS:
        errors.insert(
            0,
            RowError(
                record.row_number, "sku", f"the SKU is longer than {MAX_SKU_CHARACTERS} characters"
            ),
        )
    return errors or ParsedRow(record.row_number, sku, fields)


class RowSource:
    """The file's data rows, batch by batch; blocking (CSV parsing is CPU-bound):
    call `open` and `next_batch` in a thread.

    Also the file-wide rule: a SKU appears once. A later row with the same SKU is an
    error that names the first one."""

    def __init__(self, data: bytes, categories: dict[str, uuid.UUID]) -> None:
        lines = csv_format.open_text(data)
        self._records = csv_format.iter_records(lines, csv_format.read_header(lines))
        self._categories = categories
        self._first_row_of_sku: dict[str, int] = {}

    def skip(self, count: int) -> None:
        """Pass over rows already processed (resuming), remembering their SKUs."""
        for _ in range(count):
            record = next(self._records)
            if isinstance(record, csv_format.Record):
                self._first_row_of_sku.setdefault(record.cells["sku"], record.row_number)

    def next_batch(self, size: int) -> list[ParsedRow | list[RowError]]:
        batch: list[ParsedRow | list[RowError]] = []
        for record in self._records:
            batch.append(self._read(record))
            if len(batch) == size:
                break
        return batch

    def _read(
        self, record: csv_format.Record | csv_format.MalformedRecord
    ) -> ParsedRow | list[RowError]:
        if isinstance(record, csv_format.MalformedRecord):
            return [
                RowError(
                    record.row_number,
                    "",
                    f"the row has {record.found} cells where the header has {record.expected}",
                )
            ]
        sku = record.cells["sku"]
        first = self._first_row_of_sku.setdefault(sku, record.row_number)
        if sku and first != record.row_number:
            return [
                RowError(
                    record.row_number,
                    "sku",
                    f"the SKU {sku!r} already appears on row {first}; each SKU once per file",
                )
            ]
        return parse_record(record, self._categories)


# --- 2. rows: product rules and writes -------------------------------------------------
#
# TODO(catalog core): these rules and writes are the catalog service's; import rows
# go through `catalog.service` once its upsert is in, so that CSV and API validate
# identically. Until then they live here, behind `apply_rows`.

PRODUCT_STATUSES: Final = frozenset({"draft", "active", "archived"})
_UNIT = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _product_errors(values: dict[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    name = values["name"]
    if not name:
        errors.append(("name", "the name is required"))
    elif len(name) > 300:
        errors.append(("name", "the name is longer than 300 characters"))
    if not _UNIT.match(values["unit"]):
        errors.append(("unit", f"{values['unit']!r} is not a unit such as piece, kg, m, box"))
    if not _CURRENCY.match(values["currency"]):
        errors.append(("currency", f"{values['currency']!r} is not an ISO 4217 code like EUR"))
    for column in ("moq", "order_multiple", "stock"):
        value = values[column]
        if value is None:
            continue
        if column == "stock" and value < 0:
            errors.append((column, "must not be negative"))
        elif column != "stock" and value <= 0:
            errors.append((column, "must be greater than zero"))
        elif _decimal_places(value) > 3:
            errors.append((column, "at most 3 decimal places"))
    if values["lead_time_days"] < 0:
        errors.append(("lead_time_days", "must not be negative"))
    if values["status"] not in PRODUCT_STATUSES:
        errors.append(("status", "must be draft, active or archived"))
    tiers: list[Tier] = values["tiers"]
    for error in tier_errors(tiers, values["moq"]):
        errors.append(("tiers", str(error["msg"])))
    for tier in tiers:
        if _decimal_places(tier.unit_price) > 4:
            errors.append(("tiers", "a unit price has at most 4 decimal places"))
            break
    return errors


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def fail(self, errors: Sequence[RowError]) -> None:
        self.failed += 1
        self.errors.extend(errors)


def _stored_values(product: Product, tiers: Sequence[PriceTier]) -> dict[str, Any]:
    return {
        "name": product.name,
        "description": product.description,
        "category_id": product.category_id,
        "unit": product.unit,
        "currency": product.currency,
        "moq": product.moq,
        "order_multiple": product.order_multiple,
        "stock": product.stock,
        "lead_time_days": product.lead_time_days,
        "status": product.status,
        "tiers": [Tier(min_qty=tier.min_qty, unit_price=tier.unit_price) for tier in tiers],
        "attributes": product.attributes,
    }


def _same(stored: dict[str, Any], merged: dict[str, Any]) -> bool:
    return all(stored[key] == merged[key] for key in stored)


@dataclass(frozen=True)
class _Change:
    row: ParsedRow
    values: dict[str, Any]
    is_new: bool
    tiers_changed: bool


async def _write(session: AsyncSession, supplier_id: uuid.UUID, changes: Sequence[_Change]) -> None:
    """Products first (one statement), then the tier tables that changed."""
    ids = await repository.upsert_products(
        session,
        supplier_id,
        [
            {
                "sku": change.row.sku,
                **{key: value for key, value in change.values.items() if key != "tiers"},
                "base_price": change.values["tiers"][0].unit_price,
            }
            for change in changes
        ],
    )
    await repository.replace_tiers(
        session,
        {
            ids[change.row.sku]: [
                (tier.min_qty, tier.unit_price) for tier in change.values["tiers"]
            ]
            for change in changes
            if change.tiers_changed
        },
    )


async def apply_rows(
    session: AsyncSession, supplier_id: uuid.UUID, rows: Sequence[ParsedRow | list[RowError]]
) -> BatchResult:
    """Upsert the valid rows by SKU; count and describe the invalid ones.

    The batch's changes are written in a few set-wise statements. Should the database
    still refuse one (a category deleted meanwhile), they are written again one row
    per savepoint, so that only the rows at fault fail."""
    result = BatchResult()
    parsed = [row for row in rows if isinstance(row, ParsedRow)]
    existing = await repository.products_by_sku(session, supplier_id, [row.sku for row in parsed])
    stored_tiers = await repository.tiers_of(session, [product.id for product in existing.values()])
    changes: list[_Change] = []
    for row in rows:
        if not isinstance(row, ParsedRow):
            result.fail(row)
            continue
        product = existing.get(row.sku)
        stored = _stored_values(product, stored_tiers[product.id]) if product else None
        # Required columns are always in the file, so a new product lacks none of them.
        merged = {**(stored if stored is not None else DEFAULTS), **row.fields}
        problems = _product_errors(merged)
        if problems:
            result.fail(
                [RowError(row.row_number, COLUMN_OF_FIELD.get(f, f), m) for f, m in problems]
            )
        elif stored is not None and _same(stored, merged):
            result.unchanged += 1
        else:
            changes.append(
                _Change(
                    row=row,
                    values=merged,
                    is_new=stored is None,
                    tiers_changed=stored is None or stored["tiers"] != merged["tiers"],
                )
            )
    written = await _write_all_or_each(session, supplier_id, changes, result)
    result.created += sum(change.is_new for change in written)
    result.updated += sum(not change.is_new for change in written)
    return result


async def _write_all_or_each(
    session: AsyncSession, supplier_id: uuid.UUID, changes: list[_Change], result: BatchResult
) -> list[_Change]:
    try:
        async with session.begin_nested():
            await _write(session, supplier_id, changes)
        return changes
    except DBAPIError as error:
        logger.warning("catalog.import.batch_refused", error=str(error.orig))
    written = []
    for change in changes:
        try:
            async with session.begin_nested():
                await _write(session, supplier_id, [change])
            written.append(change)
        except DBAPIError as error:
            logger.warning("catalog.import.row_refused", sku=change.row.sku, error=str(error.orig))
            result.fail([RowError(change.row.row_number, "", "the database refused this row")])
    return written


# --- 2. the job runner -----------------------------------------------------------------


def _stale_after(platform: Platform) -> timedelta:
    return timedelta(seconds=platform.settings.import_job_stale_seconds)


async def run_import_job(
    platform: Platform,
    job_id: uuid.UUID,
    *,
    sessions: Sessions | None = None,
    resume: bool = False,
) -> None:
    """Run (or, with `resume`, take over a stale) import job to its end.

    Safe to call from any process at any time: it claims the job first and returns at
    once when the job has ended or another runner holds it. Cancellation (shutdown, a
    dying worker) leaves the job `running` for `ImportRunner.sweep()` to resume."""
    sessions = sessions or platform.database.session_factory
    async with sessions() as session, session.begin():
        job = await repository.claim_job(session, job_id, _stale_after(platform), fresh=not resume)
    if job is None:
        return
    processed = job.processed_rows
    log = logger.bind(job_id=str(job_id), supplier_id=str(job.supplier_id))
    log.info("catalog.import.started", resumed_at_row=processed, rows=job.total_rows)
    try:
        processed = await _run_batches(platform, sessions, job, log)
    except asyncio.CancelledError:
        log.warning("catalog.import.interrupted", processed_rows=processed)
        raise
    except Exception as error:
        # The failure is logged with its traceback and shown on the job; the rows of
        # the batches committed before it stay applied, and the job says so.
        log.exception("catalog.import.crashed")
        await _fail(sessions, job_id, _failure_message(error))
        return


async def _run_batches(platform: Platform, sessions: Sessions, job: ImportJob, log: Any) -> int:
    data = await platform.storage.get(job.storage_key)
    if data is None:
        await _fail(sessions, job.id, "The uploaded file is no longer available.")
        return job.processed_rows
    async with sessions() as session:
        categories = await repository.category_ids_by_slug(session)
    source = await asyncio.to_thread(RowSource, data, categories)
    processed = job.processed_rows
    if processed:
        await asyncio.to_thread(source.skip, processed)
    batch_rows = platform.settings.import_batch_rows
    while rows := await asyncio.to_thread(source.next_batch, batch_rows):
        async with sessions() as session, session.begin():
            if not await repository.claim_batch(session, job.id, processed):
                log.warning("catalog.import.taken_over", processed_rows=processed)
                return processed
            await repository.lock_supplier_catalog(session, job.supplier_id)
            result = await apply_rows(session, job.supplier_id, rows)
            await repository.add_row_errors(
                session,
                job.id,
                [(error.row_number, error.column, error.message) for error in result.errors],
            )
            await repository.record_batch(
                session,
                job.id,
                rows=len(rows),
                created=result.created,
                updated=result.updated,
                failed=result.failed,
            )
        processed += len(rows)
        log.debug("catalog.import.batch", processed_rows=processed)
    async with sessions() as session, session.begin():
        await repository.finish_job(
            session, job.id, ImportStatus.COMPLETED.value, only_if_processed=processed
        )
    log.info("catalog.import.completed", processed_rows=processed)
    return processed


def _failure_message(error: Exception) -> str:
    return (
        f"The import stopped after an internal error ({type(error).__name__}). Rows "
        "counted as done were applied; importing the same file again is safe, since "
        "rows are matched by SKU."
    )


async def _fail(sessions: Sessions, job_id: uuid.UUID, message: str) -> None:
    async with sessions() as session, session.begin():
        await repository.finish_job(session, job_id, ImportStatus.FAILED.value, error=message)


class ImportRunner:
    """Runs this process's import jobs as asyncio tasks, and resumes stale ones.

    Process memory holds only the task handles; the jobs' state is in PostgreSQL, so
    any process may resume any job. When a broker is configured the worker calls
    `run_import_job` instead (see the events issue)."""

    def __init__(self, platform: Platform, sessions: Sessions | None = None) -> None:
        self.platform = platform
        self.sessions = sessions or platform.database.session_factory
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def launch(self, job_id: uuid.UUID, *, resume: bool = False) -> None:
        task = asyncio.create_task(
            run_import_job(self.platform, job_id, sessions=self.sessions, resume=resume),
            name=f"catalog-import-{job_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep(self) -> list[uuid.UUID]:
        """Resume every job whose runner died (its heartbeat is stale)."""
        async with self.sessions() as session:
            job_ids = await repository.stale_job_ids(session, _stale_after(self.platform))
        for job_id in job_ids:
            logger.warning("catalog.import.resuming_stale_job", job_id=str(job_id))
            self.launch(job_id, resume=True)
        return job_ids

    async def _sweep_forever(self) -> None:
        interval = self.platform.settings.import_job_stale_seconds / 2
        while True:
            try:
                await self.sweep()
            except (OSError, SQLAlchemyError) as error:
                # The database is away: the next round tries again.
                logger.warning("catalog.import.sweep_failed", error=str(error))
            await asyncio.sleep(interval)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="catalog-import-sweeper")

    async def wait(self) -> None:
        """Until every job launched here has ended (tests, CLI)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- 3. export -------------------------------------------------------------------------


def export_row(
    product: Product, tiers: Sequence[PriceTier], slugs: dict[uuid.UUID, str]
) -> list[str]:
    return [
        product.sku,
        product.name,
        product.description,
        slugs.get(product.category_id, "") if product.category_id else "",
        product.unit,
        product.currency,
        csv_format.format_decimal(product.moq),
        csv_format.format_decimal(product.order_multiple) if product.order_multiple else "",
        csv_format.format_decimal(product.stock),
        str(product.lead_time_days),
        product.status,
        csv_format.format_tiers((tier.min_qty, tier.unit_price) for tier in tiers),
        csv_format.format_attributes(product.attributes),
    ]


async def export_catalog(
    sessions: Sessions, supplier_id: uuid.UUID, separator: str = ","
) -> AsyncIterator[bytes]:
    """The supplier's whole catalog in the import format, in SKU order, a page of
    `EXPORT_PAGE_ROWS` products at a time: each page is a short read of its own, so
    a slow download holds no connection and no rows in memory beyond one page."""
    writer = csv_format.CsvWriter(separator)
    yield UTF8_BOM + writer.rows([csv_format.COLUMNS])
    async with sessions() as session:
        slugs = await repository.category_slugs_by_id(session)
    after: str | None = None
    while True:
        async with sessions() as session:
            products = await repository.products_page(session, supplier_id, after, EXPORT_PAGE_ROWS)
            tiers = await repository.tiers_of(session, [product.id for product in products])
        if not products:
            return
        yield writer.rows(export_row(product, tiers[product.id], slugs) for product in products)
        after = products[-1].sku
