"""Purchasers may carry a monthly budget beside their spending limit: what they may
order in a calendar month without an owner's or admin's approval.

Revision ID: 0621_monthly_budgets
Revises: 0620_invoice_numbers
Create Date: 2026-12-07 06:21:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0621_monthly_budgets"
down_revision: str | None = "0620_invoice_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("memberships", sa.Column("monthly_budget", sa.Numeric(18, 2)))
    op.create_check_constraint(
        op.f("ck_memberships_monthly_budget"),
        "memberships",
        "monthly_budget IS NULL OR (monthly_budget >= 0 AND role = 'purchaser')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_memberships_monthly_budget"), "memberships", type_="check")
    op.drop_column("memberships", "monthly_budget")
