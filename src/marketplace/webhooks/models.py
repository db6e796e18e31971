"""Webhook endpoints of a company and the deliveries of events to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy

# Deliveries the sender still has to try: waiting for their first or their next try.
OPEN_STATUSES = ("pending", "retrying")


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    __tenancy__ = Tenancy(owners=("company_id",))
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('manual', 'failing')",
            name="disabled_reason",
        ),
        Index("ix_webhook_endpoints_company_created", "company_id", "created_at", "id"),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Event types it receives, or ["*"] for every event of the company.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # The signing secret, encrypted at rest (the sender needs it back to sign); after a
    # rotation the previous one keeps signing beside it until it expires.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the first failed attempt after a success; cleared by any success.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    def subscribed_to(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One event for one endpoint: its attempts so far and the outcome of the last."""

    __tenancy__ = Tenancy(owners=("company_id",))
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The consumer inserts with ON CONFLICT DO NOTHING: one delivery per event.
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("status IN ('pending', 'retrying', 'delivered', 'dead')", name="status"),
        CheckConstraint("attempts >= 0 AND attempts <= max_attempts", name="attempts"),
        # The delivery log of an endpoint, newest first.
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
        # The sender's queue: open deliveries by due time.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'retrying')"),
        ),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    event_occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A sender that claimed the delivery owns it until then (a crashed sender's claim
    # runs out and another one tries again); the token tells its result from a stale one.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim_token: Mapped[uuid.UUID | None]
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status_code: Mapped[int | None] = mapped_column(Integer)
    response_time_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
