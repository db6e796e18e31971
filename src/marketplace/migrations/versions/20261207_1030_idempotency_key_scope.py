"""Idempotency keys are scoped to the caller, the acting company and the endpoint
(method and path); a running request holds an advisory lock on its key instead of an
`in_progress` row, so records are only ever finished answers.

The records are answers kept for 24 hours. Those written before this revision name no
company and no endpoint and cannot be placed in the new scope, so they are dropped: a
request retried across the upgrade with a key it used before it is run again.

Revision ID: 0660_idempotency_key_scope
Revises: 0090_payment_reversals
Create Date: 2026-12-07 10:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0660_idempotency_key_scope"
down_revision: str | None = "0640_search_term_deletions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A contract step (tests/operations/test_expand_contract.py), written before that rule:
# the release before it still wrote the old table's columns, so in a rolling deploy
# across this one that release's requests with an Idempotency-Key failed until its
# processes were replaced.
CONTRACT = ("idempotency_records",)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.drop_index("ix_idempotency_records_expires", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "principal", "company_id", "method", "path", "key", name=op.f("pk_idempotency_records")
        ),
    )
    op.create_index("ix_idempotency_records_expires", "idempotency_records", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_expires", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('in_progress', 'completed')", name=op.f("ck_idempotency_records_state")
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_index("ix_idempotency_records_expires", "idempotency_records", ["expires_at"])
