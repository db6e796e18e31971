"""Staff-managed IP allow/deny rules (platform-wide, not tenant data)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, text
from sqlalchemy.dialects.postgresql import CIDR
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, UUIDPrimaryKey


class IpRule(UUIDPrimaryKey, Base):
    __tablename__ = "ip_rules"
    __table_args__ = (CheckConstraint("action IN ('allow', 'deny')", name="action"),)

    cidr: Mapped[str] = mapped_column(CIDR)
    action: Mapped[str] = mapped_column(String(5))
    note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
