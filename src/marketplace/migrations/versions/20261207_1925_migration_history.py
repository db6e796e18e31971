"""The revisions this database went through, each with the release that applied it.

Readiness reads it to tell a database ahead of the code (a newer release migrated it:
serve, this is a rolling deploy or a rollback) from one behind it or a foreign one (see
core/migrations.py). From now on migrations/env.py records every revision applied; this
migration backfills the ones before it, whose release is not known (NULL).

Revision ID: 0820_migration_history
Revises: 0760_product_version
Create Date: 2026-12-07 19:25:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0820_migration_history"
down_revision: str | None = "0760_product_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    history = op.create_table(
        "migration_history",
        sa.Column("revision", sa.String(length=64), primary_key=True),
        # NULL: applied before the history was kept.
        sa.Column("release", sa.String(length=64), nullable=True),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    assert history is not None
    # This migration's own row is added by the env.py hook after it, like any other's.
    earlier = context.script.iterate_revisions(down_revision, "base")
    op.bulk_insert(history, [{"revision": script.revision} for script in earlier])


def downgrade() -> None:
    op.drop_table("migration_history")
