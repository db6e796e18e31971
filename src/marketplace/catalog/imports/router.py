"""Catalog CSV import (as a background job) and export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    FastAPI,
    File,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import StreamingResponse

from marketplace.catalog import service as catalog
from marketplace.catalog.imports import schemas, service
from marketplace.catalog.imports.errors import ImportFileTooLarge
from marketplace.catalog.imports.models import ImportJob
from marketplace.catalog.imports.schemas import ImportJobRead
from marketplace.catalog.imports.service import ImportRunner, Sessions
from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import PlatformDep, SessionDep
from marketplace.core.openapi import problems

# Room for the multipart envelope around the file (boundaries, part headers).
MULTIPART_ENVELOPE_BYTES = 64 * 1024
IMPORT_PATH = "/products/import"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """This process's import runner: resumes stale jobs at start-up and periodically."""
    runner = ImportRunner(app.state.platform)
    app.state.import_runner = runner
    runner.start()
    try:
        yield
    finally:
        await runner.close()


router = APIRouter(tags=["catalog import/export"], lifespan=_lifespan)

WriteCatalog = Annotated[Actor, acting(Action.CATALOG_WRITE)]
ReadCatalog = Annotated[Actor, acting(Action.CATALOG_READ)]


def get_import_runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.import_runner
    return runner


def get_sessions(platform: PlatformDep) -> Sessions:
    """Sessions for response bodies streamed after the request's own session closed."""
    return platform.database.session_factory


RunnerDep = Annotated[ImportRunner, Depends(get_import_runner)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]


def body_limits(api_prefix: str, max_import_bytes: int) -> dict[str, int]:
    """Request body limits of this router's upload route, for the body-size middleware."""
    return {f"{api_prefix}{IMPORT_PATH}": max_import_bytes + MULTIPART_ENVELOPE_BYTES}


def _read(request: Request, job: ImportJob) -> ImportJobRead:
    return service.job_read(
        job, request.app.url_path_for("download_import_errors", job_id=str(job.id))
    )


_IMPORT_DESCRIPTION = f"""Upload a catalog as CSV (multipart field `file`): products are
created or updated by SKU. Answers `202` with an import job at once (its address is in
`Location`); poll it for progress and counts, then download the per-row error report.

The whole file is refused with a problem response, and nothing is imported, when it is
larger than the limit (`413`), empty, not UTF-8, not CSV, has a wrong header or no rows
(`422`). Otherwise every row is checked on its own: valid rows are applied (in batches,
each its own transaction), invalid rows are reported with row number, column and
message. Importing the same file twice changes nothing the second time.

Owners, admins and sales members of a supplier company, or an API key with
`catalog:write`.

## File format
{schemas.CSV_FORMAT}"""


@router.post(
    IMPORT_PATH,
    status_code=202,
    response_model=ImportJobRead,
    description=_IMPORT_DESCRIPTION,
    summary="Import a catalog CSV",
    responses={
        413: {"description": "The file is larger than MAX_IMPORT_BYTES."},
        422: {"description": "The file cannot be imported at all; nothing was written."},
        **problems(507),
    },
)
async def import_catalog(
    request: Request,
    actor: WriteCatalog,
    session: SessionDep,
    platform: PlatformDep,
    runner: RunnerDep,
    background: BackgroundTasks,
    response: Response,
    file: Annotated[UploadFile, File(description="The catalog, CSV in UTF-8.")],
) -> ImportJobRead:
    catalog.ensure_supplier(actor)
    limit = platform.settings.max_import_bytes
    if file.size is not None and file.size > limit:
        raise ImportFileTooLarge(limit=limit)
    data = await file.read(limit + 1)
    job = await service.start_import(session, platform, actor, filename=file.filename, data=data)
    # After the response, so after the request's transaction committed the job.
    background.add_task(_launch, runner, job.id)
    response.headers["Location"] = request.app.url_path_for("get_import_job", job_id=str(job.id))
    return _read(request, job)


async def _launch(runner: ImportRunner, job_id: uuid.UUID) -> None:
    """Async so that it runs on the event loop, where the job's task must live."""
    runner.launch(job_id)


@router.get(f"{IMPORT_PATH}/{{job_id}}", response_model=ImportJobRead, name="get_import_job")
async def get_import_job(
    request: Request,
    job_id: uuid.UUID,
    actor: ReadCatalog,
    session: SessionDep,
    platform: PlatformDep,
    runner: RunnerDep,
    background: BackgroundTasks,
) -> ImportJobRead:
    """An import job: status (`queued`, `running`, `completed`, `failed`), progress and
    counts. A job whose runner stopped (its process died) is resumed where it left off."""
    job = await service.get_job(session, actor, job_id)
    if service.is_stale(job, service.stale_after(platform)):
        background.add_task(runner.sweep)
    return _read(request, job)


@router.get(
    f"{IMPORT_PATH}/{{job_id}}/errors.csv",
    name="download_import_errors",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "row,column,message"}},
)
async def download_import_errors(
    job_id: uuid.UUID, actor: ReadCatalog, session: SessionDep, sessions: SessionsDep
) -> StreamingResponse:
    """The job's per-row error report as CSV: `row` (the spreadsheet row number, the
    header being row 1), `column` and `message`, in row order."""
    job = await service.get_job(session, actor, job_id)
    return StreamingResponse(
        service.error_report(sessions, job.id),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )


class Separator(StrEnum):
    COMMA = "comma"
    SEMICOLON = "semicolon"


@router.get(
    "/products/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The catalog CSV."}},
)
async def export_catalog(
    actor: ReadCatalog,
    sessions: SessionsDep,
    separator: Annotated[
        Separator, Query(description="`semicolon` suits spreadsheets set to a decimal comma.")
    ] = Separator.COMMA,
) -> StreamingResponse:
    """Your company's whole catalog (every status) as CSV in the import format, in SKU
    order, streamed. Importing the file unchanged changes nothing. Cells a spreadsheet
    would run as a formula are prefixed with `'` (import removes it again)."""
    catalog.ensure_supplier(actor)
    return StreamingResponse(
        service.export_catalog(
            sessions, actor.company_id, ";" if separator is Separator.SEMICOLON else ","
        ),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="catalog.csv"'},
    )
