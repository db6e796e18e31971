"""Trade: carts, orders with history and payments, RFQs, quotes, reviews, messaging, idempotency.

Revision ID: 0050_trade
Revises: 0012_seed_categories
Create Date: 2026-11-25 23:00:11.345337+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0050_trade"
down_revision: str | None = "0012_seed_categories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('in_progress', 'completed')", name=op.f("ck_idempotency_records_state")
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_index(
        "ix_idempotency_records_expires", "idempotency_records", ["expires_at"], unique=False
    )
    op.create_table(
        "carts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_carts_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_carts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("user_id", "buyer_id", name=op.f("uq_carts_user_id_buyer_id")),
    )
    op.create_index(op.f("ix_carts_buyer_id"), "carts", ["buyer_id"], unique=False)
    op.create_table(
        "purchasing_policies",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("approval_threshold", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "approval_threshold >= 0", name=op.f("ck_purchasing_policies_threshold")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_purchasing_policies_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_purchasing_policies")),
    )
    op.create_table(
        "rfqs",
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("delivery_country", sa.String(length=2), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("payment_terms", sa.String(length=10), server_default="net_30", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_rfqs_currency")),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'awarded', 'closed', 'cancelled', 'expired')",
            name=op.f("ck_rfqs_status"),
        ),
        sa.CheckConstraint("visibility IN ('public', 'invited')", name=op.f("ck_rfqs_visibility")),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_rfqs_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_rfqs_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_rfqs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfqs")),
    )
    op.create_index("ix_rfqs_buyer_created", "rfqs", ["buyer_id", "created_at", "id"], unique=False)
    op.create_index(op.f("ix_rfqs_category_id"), "rfqs", ["category_id"], unique=False)
    op.create_index(
        "ix_rfqs_open_deadline",
        "rfqs",
        ["deadline"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "threads",
        sa.Column("subject_type", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "subject_type IN ('rfq', 'quote', 'order')", name=op.f("ck_threads_subject_type")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_threads_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_threads_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
        sa.UniqueConstraint(
            "subject_type",
            "subject_id",
            "supplier_id",
            name=op.f("uq_threads_subject_type_subject_id_supplier_id"),
        ),
    )
    op.create_index(
        "ix_threads_buyer_activity", "threads", ["buyer_id", "last_message_at"], unique=False
    )
    op.create_index(
        "ix_threads_supplier_activity", "threads", ["supplier_id", "last_message_at"], unique=False
    )
    op.create_table(
        "cart_lines",
        sa.Column("cart_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("quoted_unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_cart_lines_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("cart_id", "product_id", name=op.f("uq_cart_lines_cart_id_product_id")),
    )
    op.create_index(op.f("ix_cart_lines_cart_id"), "cart_lines", ["cart_id"], unique=False)
    op.create_index(op.f("ix_cart_lines_product_id"), "cart_lines", ["product_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_company_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_company_id"],
            ["companies.id"],
            name=op.f("fk_messages_author_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_messages_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_messages_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        "ix_messages_thread_created", "messages", ["thread_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("placed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("placed_by_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("rfq_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("payment_terms", sa.String(length=10), nullable=False),
        sa.Column("payment_status", sa.String(length=15), server_default="unpaid", nullable=False),
        sa.Column(
            "amount_paid", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False
        ),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("is_overdue", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("po_number", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promised_by", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_orders_currency")),
        sa.CheckConstraint(
            "payment_status IN ('unpaid', 'partially_paid', 'paid')",
            name=op.f("ck_orders_payment_status"),
        ),
        sa.CheckConstraint(
            "payment_terms IN ('prepaid', 'net_15', 'net_30', 'net_60')",
            name=op.f("ck_orders_payment_terms"),
        ),
        sa.CheckConstraint(
            "source IN ('checkout', 'direct', 'rfq')", name=op.f("ck_orders_source")
        ),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'placed', 'confirmed', 'shipped', "
            "'delivered', 'completed', 'cancelled', 'rejected')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint(
            "total >= 0 AND subtotal >= 0 AND amount_paid >= 0", name=op.f("ck_orders_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_user_id"],
            ["users.id"],
            name=op.f("fk_orders_approved_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_orders_buyer_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_orders_placed_by_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_user_id"],
            ["users.id"],
            name=op.f("fk_orders_placed_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_orders_rfq_id_rfqs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_orders_supplier_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    op.create_index(
        "ix_orders_buyer_created", "orders", ["buyer_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_orders_rfq_id"), "orders", ["rfq_id"], unique=False)
    op.create_index(
        "ix_orders_supplier_created", "orders", ["supplier_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_orders_unpaid_due",
        "orders",
        ["due_date"],
        unique=False,
        postgresql_where=sa.text(
            "payment_status <> 'paid' AND status NOT IN ('cancelled', 'rejected')"
        ),
    )
    op.create_table(
        "quotes",
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("submitted_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="submitted", nullable=False),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("payment_terms", sa.String(length=10), server_default="net_30", nullable=False),
        sa.Column("terms", sa.Text(), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('submitted', 'withdrawn', 'accepted', 'rejected', 'expired')",
            name=op.f("ck_quotes_status"),
        ),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_quotes_lead_time")),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_quotes_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"],
            ["users.id"],
            name=op.f("fk_quotes_submitted_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_quotes_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index(op.f("ix_quotes_rfq_id"), "quotes", ["rfq_id"], unique=False)
    op.create_index(op.f("ix_quotes_supplier_id"), "quotes", ["supplier_id"], unique=False)
    op.create_index(
        "uq_quotes_live_per_supplier",
        "quotes",
        ["rfq_id", "supplier_id"],
        unique=True,
        postgresql_where=sa.text("status = 'submitted'"),
    )
    op.create_table(
        "rfq_invitations",
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_rfq_invitations_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_rfq_invitations_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rfq_id", "supplier_id", name=op.f("pk_rfq_invitations")),
    )
    op.create_index(
        op.f("ix_rfq_invitations_supplier_id"), "rfq_invitations", ["supplier_id"], unique=False
    )
    op.create_table(
        "rfq_items",
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("target_unit_price", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "product_id IS NOT NULL OR description <> ''", name=op.f("ck_rfq_items_described")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_rfq_items_quantity_positive")),
        sa.CheckConstraint(
            "target_unit_price IS NULL OR target_unit_price > 0", name=op.f("ck_rfq_items_target")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_rfq_items_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_rfq_items_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_items")),
        sa.UniqueConstraint("rfq_id", "position", name=op.f("uq_rfq_items_rfq_id_position")),
    )
    op.create_index(op.f("ix_rfq_items_rfq_id"), "rfq_items", ["rfq_id"], unique=False)
    op.create_table(
        "thread_reads",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_thread_reads_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_thread_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_thread_reads")),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("rfq_item_id", sa.Uuid(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("line_total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column(
            "reserved_quantity",
            sa.Numeric(precision=18, scale=3),
            server_default="0",
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_lines_unit_price")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_lines_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rfq_item_id"],
            ["rfq_items.id"],
            name=op.f("fk_order_lines_rfq_item_id_rfq_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    op.create_index(op.f("ix_order_lines_order_id"), "order_lines", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_lines_product_id"), "order_lines", ["product_id"], unique=False)
    op.create_table(
        "order_transitions",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("actor_company_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_order_transitions_actor_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_company_id"],
            ["companies.id"],
            name=op.f("fk_order_transitions_actor_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_order_transitions_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_transitions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_transitions")),
    )
    op.create_index(
        op.f("ix_order_transitions_order_id"), "order_transitions", ["order_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_payments_recorded_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_table(
        "quote_items",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("rfq_item_id", sa.Uuid(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_quote_items_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_quote_items_quote_id_quotes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rfq_item_id"],
            ["rfq_items.id"],
            name=op.f("fk_quote_items_rfq_item_id_rfq_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_items")),
        sa.UniqueConstraint(
            "quote_id", "rfq_item_id", name=op.f("uq_quote_items_quote_id_rfq_item_id")
        ),
    )
    op.create_index(op.f("ix_quote_items_quote_id"), "quote_items", ["quote_id"], unique=False)
    op.create_table(
        "quote_revisions",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_quote_revisions_quote_id_quotes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_revisions")),
        sa.UniqueConstraint(
            "quote_id", "revision", name=op.f("uq_quote_revisions_quote_id_revision")
        ),
    )
    op.create_index(
        op.f("ix_quote_revisions_quote_id"), "quote_revisions", ["quote_id"], unique=False
    )
    op.create_table(
        "reviews",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating")),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_reviews_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_reviews_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_reviews_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_reviews_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("order_id", name=op.f("uq_reviews_order_id")),
    )
    op.create_index(op.f("ix_reviews_supplier_id"), "reviews", ["supplier_id"], unique=False)


def downgrade() -> None:
    # Order numbers come from one sequence per year, created on first use.
    op.execute(
        "DO $$ DECLARE name text; BEGIN "
        "FOR name IN SELECT relname FROM pg_class WHERE relkind = 'S' "
        "AND relname LIKE 'order\\_number\\_%' LOOP "
        "EXECUTE format('DROP SEQUENCE IF EXISTS %I', name); END LOOP; END $$"
    )
    op.drop_index(op.f("ix_reviews_supplier_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_quote_revisions_quote_id"), table_name="quote_revisions")
    op.drop_table("quote_revisions")
    op.drop_index(op.f("ix_quote_items_quote_id"), table_name="quote_items")
    op.drop_table("quote_items")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_order_transitions_order_id"), table_name="order_transitions")
    op.drop_table("order_transitions")
    op.drop_index(op.f("ix_order_lines_product_id"), table_name="order_lines")
    op.drop_index(op.f("ix_order_lines_order_id"), table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_table("thread_reads")
    op.drop_index(op.f("ix_rfq_items_rfq_id"), table_name="rfq_items")
    op.drop_table("rfq_items")
    op.drop_index(op.f("ix_rfq_invitations_supplier_id"), table_name="rfq_invitations")
    op.drop_table("rfq_invitations")
    op.drop_index(
        "uq_quotes_live_per_supplier",
        table_name="quotes",
        postgresql_where=sa.text("status = 'submitted'"),
    )
    op.drop_index(op.f("ix_quotes_supplier_id"), table_name="quotes")
    op.drop_index(op.f("ix_quotes_rfq_id"), table_name="quotes")
    op.drop_table("quotes")
    op.drop_index(
        "ix_orders_unpaid_due",
        table_name="orders",
        postgresql_where=sa.text(
            "payment_status <> 'paid' AND status NOT IN ('cancelled', 'rejected')"
        ),
    )
    op.drop_index("ix_orders_supplier_created", table_name="orders")
    op.drop_index(op.f("ix_orders_rfq_id"), table_name="orders")
    op.drop_index("ix_orders_buyer_created", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_messages_thread_created", table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_cart_lines_product_id"), table_name="cart_lines")
    op.drop_index(op.f("ix_cart_lines_cart_id"), table_name="cart_lines")
    op.drop_table("cart_lines")
    op.drop_index("ix_threads_supplier_activity", table_name="threads")
    op.drop_index("ix_threads_buyer_activity", table_name="threads")
    op.drop_table("threads")
    op.drop_index(
        "ix_rfqs_open_deadline", table_name="rfqs", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_rfqs_category_id"), table_name="rfqs")
    op.drop_index("ix_rfqs_buyer_created", table_name="rfqs")
    op.drop_table("rfqs")
    op.drop_table("purchasing_policies")
    op.drop_index(op.f("ix_carts_buyer_id"), table_name="carts")
    op.drop_table("carts")
    op.drop_index("ix_idempotency_records_expires", table_name="idempotency_records")
    op.drop_table("idempotency_records")
