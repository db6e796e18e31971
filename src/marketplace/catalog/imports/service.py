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
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.catalog import caching
from marketplace.catalog import repository as catalog_repository
from marketplace.catalog import service as catalog
from marketplace.catalog.errors import ProductInvalid
from marketplace.catalog.imports import events, repository, schemas
from marketplace.catalog.imports.errors import (
    ImportFileBrokenCsv,
    ImportFileEmpty,
    ImportFileHasNoRows,
    ImportFileNotText,
    ImportFileNotUtf8,
    ImportFileTooLarge,
    ImportHeaderInvalid,
    ImportJobNotFound,
)
from marketplace.catalog.imports.models import ImportJob
from marketplace.catalog.imports.schemas import (
    ImportCounts,
    ImportJobRead,
    ImportProgress,
    ImportStatus,
)
from marketplace.catalog.models import PriceTier, Product
from marketplace.catalog.price_lists.models import Tier
from marketplace.catalog.schemas import ProductCreate
from marketplace.core.access import Actor
from marketplace.core.errors import DomainError
from marketplace.core.events import EventActor, emit
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

Sessions = async_sessionmaker[AsyncSession]

EXPORT_PAGE_ROWS: Final = 1000
ERROR_REPORT_PAGE_ROWS: Final = 5000
UTF8_BOM: Final = b"\xef\xbb\xbf"
MAX_FILENAME_CHARACTERS: Final = 255


# --- 1. accepting a file ---------------------------------------------------------------


def _inspect(data: bytes) -> schemas.FileSummary:
    """The file's summary, or the 4xx problem that refuses it whole."""
    try:
        return schemas.inspect_file(data)
    except schemas.EmptyFile as error:
        raise ImportFileEmpty() from error
    except schemas.BinaryFile as error:
        raise ImportFileNotText() from error
    except schemas.NotUtf8 as error:
        raise ImportFileNotUtf8(line=error.line) from error
    except schemas.BrokenCsv as error:
        raise ImportFileBrokenCsv(
            row=error.row,
            errors=[{"loc": ["file", "row", error.row], "msg": error.reason, "type": "csv"}],
        ) from error
    except schemas.HeaderError as error:
        raise ImportHeaderInvalid(
            required=", ".join(c for c in schemas.COLUMNS if c in schemas.REQUIRED_COLUMNS),
            optional=", ".join(c for c in schemas.COLUMNS if c not in schemas.REQUIRED_COLUMNS),
            errors=_header_errors(error),
        ) from error
    except schemas.NoDataRows as error:
        raise ImportFileHasNoRows() from error


def _header_errors(error: schemas.HeaderError) -> list[dict[str, Any]]:
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
    catalog.ensure_supplier(actor)
    limit = platform.settings.max_import_bytes
    if len(data) > limit:
        raise ImportFileTooLarge(limit=limit)
    summary = await asyncio.to_thread(_inspect, data)
    job_id = uuid.uuid4()
    job = ImportJob(
        id=job_id,
        supplier_id=actor.company_id,
        created_by_user_id=actor.user_id,
        created_by_api_key_id=actor.api_key_id,
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
    catalog.ensure_supplier(actor)
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
    writer = schemas.CsvWriter(",")
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


# --- 2. rows -------------------------------------------------------------------------
#
# A row is read in two steps. Its cells are read by the CSV syntax (numbers with a
# decimal point, `min:price|...` tiers, a JSON object of attributes) into the fields
# of the API's `ProductCreate`, which checks them exactly as it checks a request
# body; then `catalog.service.upsert_product`, the API's own write path, applies the
# product rules that span fields and writes it. Columns a file leaves out are not
# set, so they keep a stored product's values; an empty cell sets the default.


@dataclass(frozen=True)
class RowError:
    row_number: int
    column: str
    message: str


@dataclass(frozen=True)
class ParsedRow:
    """A row that passed the API's schema. `parent_sku` is the family head's SKU,
    resolved when the row is applied: None when the file has no such column (the
    stored parent stays), "" for no parent."""

    row_number: int
    product: ProductCreate
    parent_sku: str | None = None


# Empty cell -> the value of a new product (the API's defaults).
EMPTY_CELL: Final[dict[str, Any]] = {
    "description": "",
    "category": None,
    "moq": Decimal(1),
    "order_multiple": None,
    "stock": Decimal(0),
    "lead_time_days": 0,
    "status": "draft",
    "attributes": {},
}
FIELD_OF_COLUMN: Final = {"tiers": "price_tiers"}
# `parent_sku` is no field of the API: it names the product whose id is `parent_id`.
COLUMN_OF_FIELD: Final = {
    **{field: column for column, field in FIELD_OF_COLUMN.items()},
    "parent_id": "parent_sku",
}
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,9}")


def _cell_value(column: str, value: str) -> Any:
    """One cell as the API field's input; raises `schemas.CellError`."""
    if not value and column in EMPTY_CELL:
        return EMPTY_CELL[column]
    if column in ("moq", "order_multiple", "stock"):
        return schemas.parse_decimal(value)
    if column == "lead_time_days":
        if not _WHOLE_NUMBER.fullmatch(value):
            raise schemas.CellError(f"{value!r} is not a whole number of days")
        return int(value)
    if column == "tiers":
        return [
            {"min_qty": min_qty, "unit_price": price}
            for min_qty, price in schemas.parse_tiers(value)
        ]
    if column == "attributes":
        return schemas.parse_attributes(value)
    return value


def _column_of(location: Sequence[Any], message: str) -> tuple[str, str]:
    """An error location of the API (`("price_tiers", 1, "unit_price")`, maybe after
    "body") as the CSV column, and the message with what points inside the cell."""
    parts = [str(part) for part in location if part != "body"]
    message = message.removeprefix("Value error, ")
    if not parts:
        return "", message
    column = COLUMN_OF_FIELD.get(parts[0], parts[0])
    if parts[0] == "price_tiers" and len(parts) > 1 and parts[1].isdigit():
        where = f"tier {int(parts[1]) + 1}"
        if len(parts) > 2 and not message.startswith(parts[2]):
            where += f" {parts[2]}"
        return column, f"{where}: {message}"
    if parts[0] == "attributes" and len(parts) > 1:
        return column, f"{parts[1]!r}: {message}"
    return column, message


def row_errors(row_number: int, errors: Sequence[Mapping[str, Any]]) -> list[RowError]:
    """API problem entries (`loc`, `msg`) as row errors."""
    return [
        RowError(row_number, *_column_of(error.get("loc", ()), str(error.get("msg", ""))))
        for error in errors
    ]


def parse_record(record: schemas.Record) -> ParsedRow | list[RowError]:
    errors: list[RowError] = []
    fields: dict[str, Any] = {}
    parent_sku: str | None = None
    for column, value in record.cells.items():
        if column == "parent_sku":
            parent_sku = value
            continue
        try:
            fields[FIELD_OF_COLUMN.get(column, column)] = _cell_value(column, value)
        except schemas.CellError as error:
            errors.append(RowError(record.row_number, column, str(error)))
    if errors:
        return errors
    try:
        return ParsedRow(record.row_number, ProductCreate.model_validate(fields), parent_sku)
    except ValidationError as error:
        return row_errors(
            record.row_number,
            [{"loc": problem["loc"], "msg": problem["msg"]} for problem in error.errors()],
        )


class RowSource:
    """The file's data rows, batch by batch; blocking (CSV parsing and the schema
    checks are CPU-bound): call it through `asyncio.to_thread`.

    Also the one file-wide rule: a SKU appears once. A later row with the same SKU is
    an error that names the first."""

    def __init__(self, data: bytes) -> None:
        lines = schemas.open_text(data)
        self._records = schemas.iter_records(lines, schemas.read_header(lines))
        self._first_row_of_sku: dict[str, int] = {}

    def skip(self, count: int) -> None:
        """Pass over rows already processed (resuming), remembering their SKUs."""
        for _ in range(count):
            record = next(self._records)
            if isinstance(record, schemas.Record):
                self._first_row_of_sku.setdefault(record.cells["sku"], record.row_number)

    def next_batch(self, size: int) -> list[ParsedRow | list[RowError]]:
        batch: list[ParsedRow | list[RowError]] = []
        for record in self._records:
            batch.append(self._read(record))
            if len(batch) == size:
                break
        return batch

    def _read(self, record: schemas.Record | schemas.MalformedRecord) -> ParsedRow | list[RowError]:
        if isinstance(record, schemas.MalformedRecord):
            message = f"the row has {record.found} cells where the header has {record.expected}"
            return [RowError(record.row_number, "", message)]
        sku = record.cells["sku"]
        first = self._first_row_of_sku.setdefault(sku, record.row_number)
        if sku and first != record.row_number:
            message = f"the SKU {sku!r} already appears on row {first}; each SKU once per file"
            return [RowError(record.row_number, "sku", message)]
        return parse_record(record)


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: list[uuid.UUID] = field(default_factory=list)

    def fail(self, errors: Sequence[RowError]) -> None:
        self.failed += 1
        self.errors.extend(errors)


async def apply_rows(
    session: AsyncSession, supplier_id: uuid.UUID, rows: Sequence[ParsedRow | list[RowError]]
) -> BatchResult:
    """Upsert the valid rows by SKU through the catalog service; count and describe
    the others. A row the product rules refuse fails alone: the service writes each
    product in a savepoint of its own."""
    result = BatchResult()
    parsed = [row for row in rows if isinstance(row, ParsedRow)]
    # The service tells created from not; an update is told from "unchanged" by the
    # product's write time, which it sets only when it writes.
    stored = await repository.stored_by_sku(
        session, supplier_id, [row.product.sku for row in parsed]
    )
    for row in rows:
        if not isinstance(row, ParsedRow):
            result.fail(row)
            continue
        data = await _with_parent(session, supplier_id, row)
        if isinstance(data, RowError):
            result.fail([data])
            continue
        try:
            product, created = await catalog.upsert_product(session, supplier_id, data, cache=None)
        except DomainError as error:  # the product rules: 409, 422
            result.fail(
                row_errors(row.row_number, error.errors)
                or [RowError(row.row_number, "", str(error))]
            )
            continue
        if created:
            result.created += 1
        elif product.updated_at != stored[product.sku].updated_at:
            result.updated += 1
            # A variant that left its family changes the old head's detail too.
            old_parent_id = stored[product.sku].parent_id
            if old_parent_id is not None and old_parent_id != product.parent_id:
                result.written.append(old_parent_id)
        else:
            result.unchanged += 1
            continue
        result.written.append(product.id)
    return result


async def _with_parent(
    session: AsyncSession, supplier_id: uuid.UUID, row: ParsedRow
) -> ProductCreate | RowError:
    """The row's product with `parent_id` from its `parent_sku`: a product of this
    supplier, stored before this row (already, or by an earlier row of the file).
    Another supplier's SKU is unknown here, as its products are to the API. Whether
    the head may head a family is the product rules' call (`upsert_product`)."""
    if row.parent_sku is None:
        return row.product
    if not row.parent_sku:
        return row.product.model_copy(update={"parent_id": None})
    parent = await catalog_repository.supplier_product_by_sku(session, supplier_id, row.parent_sku)
    if parent is None:
        return RowError(
            row.row_number,
            "parent_sku",
            f"there is no product of yours with the SKU {row.parent_sku!r}; "
            "a family head in the same file must come on an earlier row",
        )
    return row.product.model_copy(update={"parent_id": parent.id})


# --- data sets loaded at once ----------------------------------------------------------


async def add_new_products(
    session: AsyncSession, supplier_id: uuid.UUID, products: Sequence[ProductCreate]
) -> int:
    """Create those of `products` (checked by the API's schema) whose SKU the supplier
    does not have yet, and leave the others as they are (loading a data set again adds
    nothing, and keeps what someone changed since); return how many were created.

    The same rules as a row of a file (`catalog.rule_errors`, the category by slug), but
    inserted in bulk, announcing nothing: one write per product through the service
    takes minutes for a few thousand. A product that breaks a rule, or names a family
    head (its family is checked only one product at a time), refuses the whole set
    (`ProductInvalid`, its index in `products` in each error's location)."""
    existing = await repository.existing_skus(session, supplier_id)
    categories = await repository.category_ids_by_slug(session)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    tier_rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, product in enumerate(products):
        if product.sku in existing:
            continue
        tiers = [Tier(min_qty=t.min_qty, unit_price=t.unit_price) for t in product.price_tiers]
        values = product.model_dump(exclude={"price_tiers", "category"}, mode="python")
        values.update(unit=product.unit.value, status=product.status.value)
        found = catalog.rule_errors(values, tiers)
        if product.category is not None and product.category not in categories:
            found.append(_error("category", f"there is no category {product.category!r}"))
        if product.parent_id is not None:
            found.append(_error("parent_id", "a variant is created one product at a time"))
        errors.extend({**error, "loc": ["body", str(index), *error["loc"][1:]]} for error in found)
        product_id = uuid.uuid4()
        rows.append(
            {
                **values,
                "id": product_id,
                "supplier_id": supplier_id,
                "category_id": categories.get(product.category) if product.category else None,
                "base_price": tiers[0].unit_price,
                "published_at": now if product.status == "active" else None,
            }
        )
        tier_rows.extend(
            {"id": uuid.uuid4(), "product_id": product_id, **asdict(tier)} for tier in tiers
        )
    if errors:
        raise ProductInvalid(errors=errors)
    await repository.insert_products(session, rows, tier_rows)
    return len(rows)


def _error(field: str, message: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": message, "type": "value_error"}


# --- 2. the job runner -----------------------------------------------------------------


def stale_after(platform: Platform) -> timedelta:
    """How long a job may go without a heartbeat before it counts as abandoned."""
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
        job = await repository.claim_job(session, job_id, stale_after(platform), fresh=not resume)
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
    source = await asyncio.to_thread(RowSource, data)
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
            await caching.invalidate_products(session, platform.cache, result.written)
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
    await _finish(sessions, job.id, ImportStatus.COMPLETED, only_if_processed=processed)
    log.info("catalog.import.completed", processed_rows=processed)
    return processed


def _failure_message(error: Exception) -> str:
    return (
        f"The import stopped after an internal error ({type(error).__name__}). Rows "
        "counted as done were applied; importing the same file again is safe, since "
        "rows are matched by SKU."
    )


async def _fail(sessions: Sessions, job_id: uuid.UUID, message: str) -> None:
    await _finish(sessions, job_id, ImportStatus.FAILED, error=message)


async def _finish(
    sessions: Sessions,
    job_id: uuid.UUID,
    status: ImportStatus,
    *,
    error: str | None = None,
    only_if_processed: int | None = None,
) -> None:
    """End the job and announce it, once: `product.imported` with the job's counts
    (not an event per row), in the transaction that ends it. Only the runner that
    ends the job announces it; the actor is the member or API key that uploaded the file."""
    async with sessions() as session, session.begin():
        ended = await repository.finish_job(
            session, job_id, status.value, error=error, only_if_processed=only_if_processed
        )
        if not ended:
            return
        job = await repository.get_job(session, job_id)
        assert job is not None  # its row was just updated in this transaction
        counts = job_read(job, "").counts
        await emit(
            session,
            events.ProductsImported(
                job_id=job.id,
                supplier_id=job.supplier_id,
                status=job.status,
                filename=job.filename,
                total_rows=job.total_rows,
                processed_rows=job.processed_rows,
                created=counts.created,
                updated=counts.updated,
                unchanged=counts.unchanged,
                failed=counts.failed,
            ),
            actor=EventActor(user_id=job.created_by_user_id, api_key_id=job.created_by_api_key_id),
        )


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
            job_ids = await repository.stale_job_ids(session, stale_after(self.platform))
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
    product: Product,
    tiers: Sequence[PriceTier],
    slugs: dict[uuid.UUID, str],
    parent_skus: Mapping[uuid.UUID, str],
) -> list[str]:
    return [
        product.sku,
        product.name,
        product.description,
        slugs.get(product.category_id, "") if product.category_id else "",
        product.unit,
        product.currency,
        schemas.format_decimal(product.moq),
        schemas.format_decimal(product.order_multiple) if product.order_multiple else "",
        schemas.format_decimal(product.stock),
        str(product.lead_time_days),
        product.status,
        schemas.format_tiers((tier.min_qty, tier.unit_price) for tier in tiers),
        schemas.format_attributes(product.attributes),
        parent_skus[product.parent_id] if product.parent_id else "",
    ]


async def export_catalog(
    sessions: Sessions, supplier_id: uuid.UUID, separator: str = ","
) -> AsyncIterator[bytes]:
    """The supplier's whole catalog in the import format: products that are no
    variant in SKU order, then the variants in SKU order (a variant's head comes
    before it, so the file imports into an empty catalog too), a page of
    `EXPORT_PAGE_ROWS` products at a time: each page is a short read of its own, so
    a slow download holds no connection and no rows in memory beyond one page."""
    writer = schemas.CsvWriter(separator)
    yield UTF8_BOM + writer.rows([schemas.COLUMNS])
    async with sessions() as session:
        slugs = await repository.category_slugs_by_id(session)
    for variants in (False, True):
        after: str | None = None
        while True:
            async with sessions() as session:
                products = await repository.products_page(
                    session, supplier_id, after, EXPORT_PAGE_ROWS, variants=variants
                )
                tiers = await repository.tiers_of(session, [product.id for product in products])
                parent_skus = await repository.skus_of(
                    session,
                    supplier_id,
                    [product.parent_id for product in products if product.parent_id],
                )
            if products:
                yield writer.rows(
                    export_row(product, tiers[product.id], slugs, parent_skus)
                    for product in products
                )
            if len(products) < EXPORT_PAGE_ROWS:
                break
            after = products[-1].sku
