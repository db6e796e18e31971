"""Catalog import jobs remember the API key that started them, so that the job's
`product.imported` event names it as the actor (a user started the others).

Revision ID: 0070_import_jobs_api_key
Revises: 0060_audit
Create Date: 2026-11-26 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0070_import_jobs_api_key"
down_revision: str | None = "0060_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "catalog_import_jobs", sa.Column("created_by_api_key_id", sa.Uuid(), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_catalog_import_jobs_created_by_api_key_id_api_keys"),
        "catalog_import_jobs",
        "api_keys",
        ["created_by_api_key_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_catalog_import_jobs_created_by_api_key_id_api_keys"),
        "catalog_import_jobs",
        type_="foreignkey",
    )
    op.drop_column("catalog_import_jobs", "created_by_api_key_id")
