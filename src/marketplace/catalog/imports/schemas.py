"""What the import endpoints answer: an import job with its progress and counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportProgress(BaseModel):
    rows_done: int = Field(description="Data rows processed so far (applied or failed).")
    rows_total: int = Field(description="Data rows in the file (blank rows not counted).")
    percent: int = Field(ge=0, le=100)


class ImportCounts(BaseModel):
    created: int = Field(description="Rows that created a product.")
    updated: int = Field(description="Rows that changed an existing product.")
    unchanged: int = Field(description="Rows identical to the product already stored.")
    failed: int = Field(description="Rows rejected; see the error report.")


class ImportJobRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0b6c6f8e-8d0c-4a53-9b7e-5d0f2d1c9a11",
                "status": "running",
                "filename": "catalog.csv",
                "progress": {"rows_done": 1500, "rows_total": 4000, "percent": 37},
                "counts": {"created": 900, "updated": 580, "unchanged": 0, "failed": 20},
                "error": None,
                "created_at": "2026-11-25T10:00:00Z",
                "started_at": "2026-11-25T10:00:01Z",
                "finished_at": None,
                "errors_url": (
                    "/api/v1/products/import/0b6c6f8e-8d0c-4a53-9b7e-5d0f2d1c9a11/errors.csv"
                ),
            }
        }
    )

    id: uuid.UUID
    status: ImportStatus
    filename: str
    progress: ImportProgress
    counts: ImportCounts
    error: str | None = Field(description="Why the job failed, when it did.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors_url: str = Field(description="The per-row error report (CSV: row, column, message).")
