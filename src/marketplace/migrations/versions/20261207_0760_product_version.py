"""Optimistic concurrency for products: a version bumped by every update, and the
index of a supplier's own catalog listing.

- `products.version` starts at 1. A `BEFORE UPDATE` trigger adds one on every update of
  the row, whatever issues it (the API, the CSV import, staff moderation, the stock an
  order takes or gives back), so that no write path can forget it: the product's ETag
  is this number, and `PATCH` with a stale `If-Match` is refused (412).
- `ix_products_supplier_created`: the supplier's own listing, newest first, by keyset.

Revision ID: 0760_product_version
Revises: 0600_order_release_to_supplier
Create Date: 2026-12-07 14:45:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0760_product_version"
down_revision: str | None = "0600_order_release_to_supplier"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP_FUNCTION = """
CREATE FUNCTION products_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$
"""

_BUMP_TRIGGER = """
CREATE TRIGGER products_bump_version BEFORE UPDATE ON products
FOR EACH ROW EXECUTE FUNCTION products_bump_version()
"""


def upgrade() -> None:
    op.add_column(
        "products", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.execute(_BUMP_FUNCTION)
    op.execute(_BUMP_TRIGGER)
    op.create_index("ix_products_supplier_created", "products", ["supplier_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_products_supplier_created", table_name="products")
    op.execute("DROP TRIGGER products_bump_version ON products")
    op.execute("DROP FUNCTION products_bump_version()")
    op.drop_column("products", "version")
