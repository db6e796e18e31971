"""When the supplier received an order: an order waiting for the buyer's approval is
the buyer's internal matter, which its supplier may not read until it is approved.

Existing orders were received when a transition first made them "placed" (placing
them directly, or approving them); orders declined or cancelled while they waited
never were.

Revision ID: 0600_order_release_to_supplier
Revises: 0621_monthly_budgets
Create Date: 2026-12-07 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0600_order_release_to_supplier"
down_revision: str | None = "0660_idempotency_key_scope"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("released_to_supplier_at", sa.DateTime(timezone=True)))
    op.execute(
        """
        UPDATE orders SET released_to_supplier_at = placed.at
        FROM (
            SELECT order_id, min(created_at) AS at FROM order_transitions
            WHERE to_status = 'placed' GROUP BY order_id
        ) AS placed
        WHERE placed.order_id = orders.id
        """
    )
    # An order past placement whose history lacks that step still reached its supplier.
    op.execute(
        """
        UPDATE orders SET released_to_supplier_at = coalesce(placed_at, created_at)
        WHERE released_to_supplier_at IS NULL
          AND status NOT IN ('pending_approval', 'cancelled')
        """
    )


def downgrade() -> None:
    op.drop_column("orders", "released_to_supplier_at")
