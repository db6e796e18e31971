"""Invoices get their own numbers, gapless per supplier and year, issued when the order
ships: a counter row per (supplier, year) that the shipping transaction updates, and
the number and issue time on the order.

Orders already shipped before this revision are numbered here, per supplier in the
order they shipped, and the counters continue after them.

Revision ID: 0620_invoice_numbers
Revises: 0090_payment_reversals
Create Date: 2026-12-07 06:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0620_invoice_numbers"
down_revision: str | None = "0090_payment_reversals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHIPPED = "('shipped', 'delivered', 'completed')"


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "last_number > 0", name=op.f("ck_invoice_counters_last_number_positive")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_invoice_counters_supplier_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "year", name=op.f("pk_invoice_counters")),
    )
    op.add_column("orders", sa.Column("invoice_number", sa.String(20)))
    op.add_column("orders", sa.Column("invoiced_at", sa.DateTime(timezone=True)))
    op.create_unique_constraint(
        op.f("uq_orders_supplier_id_invoice_number"), "orders", ["supplier_id", "invoice_number"]
    )
    op.create_check_constraint(
        op.f("ck_orders_invoice_issued"),
        "orders",
        "(invoice_number IS NULL) = (invoiced_at IS NULL)",
    )
    op.execute(
        f"""
        WITH shipped AS (
            SELECT id, supplier_id, COALESCE(shipped_at, updated_at) AS issued_at
            FROM orders WHERE status IN {SHIPPED}
        ), numbered AS (
            SELECT id, issued_at,
                   EXTRACT(YEAR FROM issued_at AT TIME ZONE 'UTC')::int AS year,
                   row_number() OVER (
                       PARTITION BY supplier_id, EXTRACT(YEAR FROM issued_at AT TIME ZONE 'UTC')
                       ORDER BY issued_at, id
                   ) AS number
            FROM shipped
        )
        UPDATE orders
        SET invoice_number = 'INV-' || numbered.year || '-' || lpad(numbered.number::text, 6, '0'),
            invoiced_at = numbered.issued_at
        FROM numbered
        WHERE orders.id = numbered.id
        """
    )
    op.execute(
        """
        INSERT INTO invoice_counters (supplier_id, year, last_number)
        SELECT supplier_id, EXTRACT(YEAR FROM invoiced_at AT TIME ZONE 'UTC')::int, count(*)
        FROM orders WHERE invoice_number IS NOT NULL
        GROUP BY 1, 2
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_orders_invoice_issued"), "orders", type_="check")
    op.drop_constraint(op.f("uq_orders_supplier_id_invoice_number"), "orders", type_="unique")
    op.drop_column("orders", "invoiced_at")
    op.drop_column("orders", "invoice_number")
    op.drop_table("invoice_counters")
