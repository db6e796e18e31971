"""A partial index of the orders flagged overdue: the job that clears the flag of
paid and closed orders reads only those, instead of scanning every order.

Revision ID: 0080_orders_overdue_index
Revises: 0070_import_jobs_api_key
Create Date: 2026-11-26 04:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0080_orders_overdue_index"
down_revision: str | None = "0070_import_jobs_api_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_overdue", "orders", ["id"], postgresql_where=sa.text("is_overdue"))


def downgrade() -> None:
    op.drop_index("ix_orders_overdue", table_name="orders")
