"""Companies, memberships with roles, invitations, addresses and verification history."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base, Timestamps, UUIDPrimaryKey


class Company(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "companies"
    __table_args__ = (
        CheckConstraint("kind IN ('buyer', 'supplier', 'both')", name="kind"),
        CheckConstraint(
            "verification_status IN ('unverified', 'pending', 'verified', 'rejected')",
            name="verification_status",
        ),
        # The staff verification queue: companies of one status, oldest first.
        Index(
            "ix_companies_verification_status_created", "verification_status", "created_at", "id"
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    verification_status: Mapped[str] = mapped_column(
        String(12), default="unverified", server_default="unverified"
    )
    verification_note: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("company_id", "user_id"),
        CheckConstraint("role IN ('owner', 'admin', 'purchaser', 'sales', 'viewer')", name="role"),
        CheckConstraint("spending_limit IS NULL OR spending_limit >= 0", name="spending_limit"),
        # Only purchasers place orders, so only they carry a spending limit.
        CheckConstraint(
            "spending_limit IS NULL OR role = 'purchaser'", name="spending_limit_purchaser"
        ),
        CheckConstraint(
            "monthly_budget IS NULL OR (monthly_budget >= 0 AND role = 'purchaser')",
            name="monthly_budget",
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    spending_limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    # What the purchaser may order per calendar month (UTC) without approval, in each
    # order's currency, like the spending limit (trade/orders/approvals.py).
    monthly_budget: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))


class Invitation(UUIDPrimaryKey, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'phone')", name="channel"),
        CheckConstraint("role IN ('owner', 'admin', 'purchaser', 'sales', 'viewer')", name="role"),
        CheckConstraint(
            "spending_limit IS NULL OR (spending_limit >= 0 AND role = 'purchaser')",
            name="spending_limit",
        ),
        Index(
            "ix_invitations_pending_destination",
            "destination",
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    spending_limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CompanyAddress(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "company_addresses"
    __table_args__ = (
        # At most one default shipping address per company.
        Index(
            "ux_company_addresses_default_shipping",
            "company_id",
            unique=True,
            postgresql_where=text("is_default_shipping"),
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str | None] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    is_default_shipping: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    is_billing: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class VerificationEvent(UUIDPrimaryKey, Base):
    """Every change of a company's verification status: who, when, why."""

    __tablename__ = "company_verification_events"

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
