"""Companies: one default shipping address, spending limits only for purchasers,
an index for the staff verification queue.

Revision ID: 0003_companies
Revises: 0002_identity_companies
Create Date: 2026-11-25 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_companies"
down_revision: str | None = "0002_identity_companies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The service unsets the previous default; the index makes two at once impossible.
    op.create_index(
        "ux_company_addresses_default_shipping",
        "company_addresses",
        ["company_id"],
        unique=True,
        postgresql_where=sa.text("is_default_shipping"),
    )
    op.create_check_constraint(
        "spending_limit_purchaser", "memberships", "spending_limit IS NULL OR role = 'purchaser'"
    )
    op.create_check_constraint(
        "spending_limit",
        "invitations",
        "spending_limit IS NULL OR (spending_limit >= 0 AND role = 'purchaser')",
    )
    op.create_index(
        "ix_companies_verification_status_created",
        "companies",
        ["verification_status", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_companies_verification_status_created", table_name="companies")
    op.drop_constraint(op.f("ck_invitations_spending_limit"), "invitations", type_="check")
    op.drop_constraint(
        op.f("ck_memberships_spending_limit_purchaser"), "memberships", type_="check"
    )
    op.drop_index(
        "ux_company_addresses_default_shipping",
        table_name="company_addresses",
        postgresql_where=sa.text("is_default_shipping"),
    )
