"""Audit log entries as the API shows them, and the filters of a listing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditActor(BaseModel):
    """Who caused the event: a person, an API key (of `user_id`'s company), or nobody
    (both null: the platform itself, e.g. an RFQ expiring or a failing webhook disabled)."""

    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    is_staff: bool


class AuditTarget(BaseModel):
    type: str = Field(description="e.g. `order`, `member`, `api_key`, `webhook_endpoint`.")
    id: uuid.UUID


class AuditEventRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID = Field(description="The event's id (as in webhook deliveries).")
    occurred_at: datetime
    recorded_at: datetime
    action: str = Field(description="The event type, e.g. `member.updated`.")
    actor: AuditActor
    target: AuditTarget
    changes: dict[str, dict[str, Any]] = Field(
        description='`{field: {"before": ..., "after": ...}}` for what the event says '
        "changed; a side the event does not carry is left out."
    )
    details: dict[str, Any] = Field(description="The event's fields.")
    request_id: str | None = Field(description="`X-Request-ID` of the request that caused it.")
    ip: str | None = Field(description="The client address of that request.")


class AdminAuditEventRead(AuditEventRead):
    company_ids: list[uuid.UUID] = Field(
        description="The companies the event concerns ([] for platform-only events)."
    )


@dataclass(frozen=True)
class AuditFilter:
    """Conditions of a listing; None means "any"."""

    action: str | None = None  # an event type ("order.placed") or a family ("order")
    actor_user_id: uuid.UUID | None = None
    actor_api_key_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: uuid.UUID | None = None
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until
    company_id: uuid.UUID | None = None
