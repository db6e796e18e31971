"""The audit log table. Rows are only ever inserted: a trigger (migration 0060_audit)
refuses UPDATE, DELETE and TRUNCATE, so not even the application can rewrite history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy


class AuditEvent(UUIDPrimaryKey, Base):
    """One audited event. No foreign keys: the log must outlive what it talks about
    (a deleted webhook, a removed member, a deleted category)."""

    __tenancy__ = Tenancy(owners=("company_ids",))
    __tablename__ = "audit_events"
    __table_args__ = (
        # Newest first, for staff (all events) and as the keyset of every listing.
        Index("ix_audit_events_occurred", "occurred_at", "id"),
        # A company's own events: the companies the event concerns.
        Index("ix_audit_events_company_ids", "company_ids", postgresql_using="gin"),
        Index("ix_audit_events_target", "target_id", "occurred_at"),
        Index("ix_audit_events_actor_user", "actor_user_id", "occurred_at"),
    )

    # The event's id: a redelivered event inserts nothing (ON CONFLICT DO NOTHING).
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    action: Mapped[str] = mapped_column(String(100), index=True)  # the event type
    event_version: Mapped[int] = mapped_column(Integer)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_is_staff: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    company_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # {field: {"before": ..., "after": ...}} for what the event says changed; a side
    # the event does not carry is absent.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the event's fields
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(45))
