"""Catalog: categories, products, tiers, price lists, images, import jobs.

Revision ID: 0004_catalog
Revises: 0003_companies
Create Date: 2026-11-25 22:27:04.235816+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_catalog"
down_revision: str | None = "0003_companies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
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
            ["parent_id"],
            ["categories.id"],
            name=op.f("fk_categories_parent_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("path", name=op.f("uq_categories_path")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
    )
    op.create_index(op.f("ix_categories_parent_id"), "categories", ["parent_id"], unique=False)
    op.create_table(
        "buyer_groups",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
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
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_buyer_groups_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_groups")),
        sa.UniqueConstraint("supplier_id", "name", name=op.f("uq_buyer_groups_supplier_id_name")),
    )
    op.create_index(
        op.f("ix_buyer_groups_supplier_id"), "buyer_groups", ["supplier_id"], unique=False
    )
    op.create_table(
        "catalog_import_jobs",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="queued", nullable=False),
        sa.Column("filename", sa.String(length=255), server_default="", nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("total_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("processed_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('queued', 'running', 'completed', 'failed')",
            name=op.f("ck_catalog_import_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_catalog_import_jobs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_catalog_import_jobs_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_import_jobs")),
    )
    op.create_index(
        op.f("ix_catalog_import_jobs_supplier_id"),
        "catalog_import_jobs",
        ["supplier_id"],
        unique=False,
    )
    op.create_table(
        "price_lists",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint("priority >= 0", name=op.f("ck_price_lists_priority")),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_price_lists_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_lists")),
        sa.UniqueConstraint("supplier_id", "name", name=op.f("uq_price_lists_supplier_id_name")),
    )
    op.create_index(
        op.f("ix_price_lists_supplier_id"), "price_lists", ["supplier_id"], unique=False
    )
    op.create_table(
        "products",
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("moq", sa.Numeric(precision=18, scale=3), server_default="1", nullable=False),
        sa.Column("order_multiple", sa.Numeric(precision=18, scale=3), nullable=True),
        sa.Column("stock", sa.Numeric(precision=18, scale=3), server_default="0", nullable=False),
        sa.Column("lead_time_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("base_price", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("is_blocked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                (
                    "setweight(to_tsvector('simple', coalesce(sku, '')), 'A') || "
                    "setweight(to_tsvector('simple', coalesce(name, '')), 'A') || "
                    "setweight(jsonb_to_tsvector('simple', coalesce(attributes, '{}'::jsonb), "
                    "'[\"string\"]'), 'B') || "
                    "setweight(to_tsvector('simple', coalesce(description, '')), 'C')"
                ),
                persisted=True,
            ),
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
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_products_currency")),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'archived')", name=op.f("ck_products_status")
        ),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_products_lead_time")),
        sa.CheckConstraint("moq > 0", name=op.f("ck_products_moq_positive")),
        sa.CheckConstraint(
            "order_multiple IS NULL OR order_multiple > 0", name=op.f("ck_products_order_multiple")
        ),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_products_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_products_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["products.id"],
            name=op.f("fk_products_parent_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["companies.id"],
            name=op.f("fk_products_supplier_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("supplier_id", "sku", name=op.f("uq_products_supplier_id_sku")),
    )
    op.create_index(
        "ix_products_attributes", "products", ["attributes"], unique=False, postgresql_using="gin"
    )
    op.create_index(op.f("ix_products_base_price"), "products", ["base_price"], unique=False)
    op.create_index(
        "ix_products_category_created",
        "products",
        ["category_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_products_category_id"), "products", ["category_id"], unique=False)
    op.create_index(
        "ix_products_name_trgm",
        "products",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_products_parent_id"), "products", ["parent_id"], unique=False)
    op.create_index(
        "ix_products_search_vector",
        "products",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_products_sku_trgm",
        "products",
        ["sku"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"sku": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_products_supplier_id"), "products", ["supplier_id"], unique=False)
    op.create_index(
        "ix_products_supplier_status", "products", ["supplier_id", "status"], unique=False
    )
    op.create_table(
        "buyer_group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_buyer_group_members_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["buyer_groups.id"],
            name=op.f("fk_buyer_group_members_group_id_buyer_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "buyer_id", name=op.f("pk_buyer_group_members")),
    )
    op.create_index(
        op.f("ix_buyer_group_members_buyer_id"), "buyer_group_members", ["buyer_id"], unique=False
    )
    op.create_table(
        "catalog_import_errors",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["catalog_import_jobs.id"],
            name=op.f("fk_catalog_import_errors_job_id_catalog_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_import_errors")),
    )
    op.create_index(
        op.f("ix_catalog_import_errors_job_id"), "catalog_import_errors", ["job_id"], unique=False
    )
    op.create_table(
        "price_list_assignments",
        sa.Column("price_list_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "(buyer_id IS NULL) <> (group_id IS NULL)",
            name=op.f("ck_price_list_assignments_exactly_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["companies.id"],
            name=op.f("fk_price_list_assignments_buyer_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["buyer_groups.id"],
            name=op.f("fk_price_list_assignments_group_id_buyer_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_price_list_assignments_price_list_id_price_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_assignments")),
        sa.UniqueConstraint(
            "price_list_id",
            "buyer_id",
            name=op.f("uq_price_list_assignments_price_list_id_buyer_id"),
        ),
        sa.UniqueConstraint(
            "price_list_id",
            "group_id",
            name=op.f("uq_price_list_assignments_price_list_id_group_id"),
        ),
    )
    op.create_index(
        op.f("ix_price_list_assignments_buyer_id"),
        "price_list_assignments",
        ["buyer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_price_list_assignments_group_id"),
        "price_list_assignments",
        ["group_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_price_list_assignments_price_list_id"),
        "price_list_assignments",
        ["price_list_id"],
        unique=False,
    )
    op.create_table(
        "price_list_tiers",
        sa.Column("price_list_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("min_qty", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("min_qty > 0", name=op.f("ck_price_list_tiers_min_qty_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_price_list_tiers_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_price_list_tiers_price_list_id_price_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_price_list_tiers_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_tiers")),
        sa.UniqueConstraint(
            "price_list_id",
            "product_id",
            "min_qty",
            name=op.f("uq_price_list_tiers_price_list_id_product_id_min_qty"),
        ),
    )
    op.create_index(
        op.f("ix_price_list_tiers_price_list_id"),
        "price_list_tiers",
        ["price_list_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_price_list_tiers_product_id"), "price_list_tiers", ["product_id"], unique=False
    )
    op.create_table(
        "price_tiers",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("min_qty", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("min_qty > 0", name=op.f("ck_price_tiers_min_qty_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_price_tiers_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_price_tiers_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_tiers")),
        sa.UniqueConstraint(
            "product_id", "min_qty", name=op.f("uq_price_tiers_product_id_min_qty")
        ),
    )
    op.create_index(op.f("ix_price_tiers_product_id"), "price_tiers", ["product_id"], unique=False)
    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("alt_text", sa.String(length=300), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_product_images_storage_key")),
    )
    op.create_index(
        op.f("ix_product_images_product_id"), "product_images", ["product_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_product_images_product_id"), table_name="product_images")
    op.drop_table("product_images")
    op.drop_index(op.f("ix_price_tiers_product_id"), table_name="price_tiers")
    op.drop_table("price_tiers")
    op.drop_index(op.f("ix_price_list_tiers_product_id"), table_name="price_list_tiers")
    op.drop_index(op.f("ix_price_list_tiers_price_list_id"), table_name="price_list_tiers")
    op.drop_table("price_list_tiers")
    op.drop_index(
        op.f("ix_price_list_assignments_price_list_id"), table_name="price_list_assignments"
    )
    op.drop_index(op.f("ix_price_list_assignments_group_id"), table_name="price_list_assignments")
    op.drop_index(op.f("ix_price_list_assignments_buyer_id"), table_name="price_list_assignments")
    op.drop_table("price_list_assignments")
    op.drop_index(op.f("ix_catalog_import_errors_job_id"), table_name="catalog_import_errors")
    op.drop_table("catalog_import_errors")
    op.drop_index(op.f("ix_buyer_group_members_buyer_id"), table_name="buyer_group_members")
    op.drop_table("buyer_group_members")
    op.drop_index("ix_products_supplier_status", table_name="products")
    op.drop_index(op.f("ix_products_supplier_id"), table_name="products")
    op.drop_index(
        "ix_products_sku_trgm",
        table_name="products",
        postgresql_using="gin",
        postgresql_ops={"sku": "gin_trgm_ops"},
    )
    op.drop_index("ix_products_search_vector", table_name="products", postgresql_using="gin")
    op.drop_index(op.f("ix_products_parent_id"), table_name="products")
    op.drop_index(
        "ix_products_name_trgm",
        table_name="products",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_products_category_id"), table_name="products")
    op.drop_index("ix_products_category_created", table_name="products")
    op.drop_index(op.f("ix_products_base_price"), table_name="products")
    op.drop_index("ix_products_attributes", table_name="products", postgresql_using="gin")
    op.drop_table("products")
    op.drop_index(op.f("ix_price_lists_supplier_id"), table_name="price_lists")
    op.drop_table("price_lists")
    op.drop_index(op.f("ix_catalog_import_jobs_supplier_id"), table_name="catalog_import_jobs")
    op.drop_table("catalog_import_jobs")
    op.drop_index(op.f("ix_buyer_groups_supplier_id"), table_name="buyer_groups")
    op.drop_table("buyer_groups")
    op.drop_index(op.f("ix_categories_parent_id"), table_name="categories")
    op.drop_table("categories")
