"""Conversation threads between a buyer company and a supplier company, attached to
an RFQ, a quote or an order; messages with attachments; read receipts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, UUIDPrimaryKey
from marketplace.core.tenancy import Tenancy


class Thread(UUIDPrimaryKey, Base):
    __tenancy__ = Tenancy(owners=("buyer_id", "supplier_id"))
    __tablename__ = "threads"
    __table_args__ = (
        CheckConstraint("subject_type IN ('rfq', 'quote', 'order')", name="subject_type"),
        UniqueConstraint("subject_type", "subject_id", "supplier_id"),
        Index("ix_threads_buyer_activity", "buyer_id", "last_message_at"),
        Index("ix_threads_supplier_activity", "supplier_id", "last_message_at"),
    )

    subject_type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Message(UUIDPrimaryKey, Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread_created", "thread_id", "created_at", "id"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    author_company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    # [{"storage_key", "filename", "content_type", "size"}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class ThreadRead(Base):
    """Read receipt: how far a user has read a thread."""

    __tablename__ = "thread_reads"

    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
