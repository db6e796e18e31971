"""Import jobs and the per-row errors of their report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy


class ImportJob(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(owners=("supplier_id",))
    __tablename__ = "catalog_import_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'completed', 'failed')", name="status"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    filename: Mapped[str] = mapped_column(String(255), default="", server_default="")
    storage_key: Mapped[str] = mapped_column(String(200))
    total_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    processed_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRowError(UUIDPrimaryKey, Base):
    __tablename__ = "catalog_import_errors"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_import_jobs.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
