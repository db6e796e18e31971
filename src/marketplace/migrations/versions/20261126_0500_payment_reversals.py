"""Payments can be reversed (recorded by mistake, refunded): who, when and why are kept
on the payment, which stays in the order's history.

Revision ID: 0090_payment_reversals
Revises: 0080_orders_overdue_index
Create Date: 2026-11-26 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0090_payment_reversals"
down_revision: str | None = "0080_orders_overdue_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("reversed_at", sa.DateTime(timezone=True)))
    op.add_column("payments", sa.Column("reversed_by_user_id", sa.Uuid()))
    op.add_column("payments", sa.Column("reversal_reason", sa.String(500)))
    op.create_foreign_key(
        op.f("fk_payments_reversed_by_user_id_users"),
        "payments",
        "users",
        ["reversed_by_user_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_payments_reversal_complete"),
        "payments",
        "(reversed_at IS NULL) = (reversal_reason IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_payments_reversal_complete"), "payments", type_="check")
    op.drop_constraint(
        op.f("fk_payments_reversed_by_user_id_users"), "payments", type_="foreignkey"
    )
    op.drop_column("payments", "reversal_reason")
    op.drop_column("payments", "reversed_by_user_id")
    op.drop_column("payments", "reversed_at")
