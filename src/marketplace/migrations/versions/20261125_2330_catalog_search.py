"""Catalog search: the typo-correction dictionary and keyset indexes for the sorts.

- `catalog_search_terms`: the words of every product's search document (letters only,
  3-40 characters), kept complete by statement-level triggers on `products` (one INSERT
  per statement through transition tables, so a 25,000-row COPY or import batch costs one
  query; an UPDATE that leaves the document unchanged, e.g. a stock change, adds nothing).
  Terms are inserted in sorted order so that concurrent writers lock them in the same
  order and cannot deadlock.
- `(created_at, id)` and `(base_price, id)`: the "newest" and price sorts walk these in
  order, and the keyset condition `(key, id) > (:key, :id)` is an index condition, so a deep
  page costs what the first page costs.

Revision ID: 0011_catalog_search
Revises: 0010_events
Create Date: 2026-11-25 23:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_catalog_search"
down_revision: str | None = "0010_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One definition of a dictionary word, shared by the triggers and the backfill.
_WORDS_OF = """
    SELECT DISTINCT word
    FROM {source}
    CROSS JOIN LATERAL unnest(tsvector_to_array(product.search_vector)) AS word
    WHERE length(word) BETWEEN 3 AND 40 AND word !~ '[0-9_]'{condition}
    ORDER BY word
"""


def _insert_terms(source: str, condition: str = "") -> str:
    words = _WORDS_OF.format(source=source, condition=condition)
    return f"INSERT INTO catalog_search_terms (term) {words} ON CONFLICT DO NOTHING"


def upgrade() -> None:
    op.create_table(
        "catalog_search_terms",
        sa.Column("term", sa.String(length=40, collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_catalog_search_terms")),
    )
    op.create_index(
        "ix_catalog_search_terms_term_trgm",
        "catalog_search_terms",
        ["term"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )
    from_inserted = _insert_terms("inserted_products AS product")
    from_updated = _insert_terms(
        "updated_products AS product "
        "JOIN previous_products AS previous ON previous.id = product.id",
        " AND product.search_vector IS DISTINCT FROM previous.search_vector",
    )
    for name, statement in (
        ("catalog_search_terms_from_inserted", from_inserted),
        ("catalog_search_terms_from_updated", from_updated),
    ):
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{statement};\nRETURN NULL;\nEND $$"
        )
    op.execute(
        "CREATE TRIGGER catalog_search_terms_on_insert AFTER INSERT ON products "
        "REFERENCING NEW TABLE AS inserted_products "
        "FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_terms_from_inserted()"
    )
    op.execute(
        "CREATE TRIGGER catalog_search_terms_on_update AFTER UPDATE ON products "
        "REFERENCING OLD TABLE AS previous_products NEW TABLE AS updated_products "
        "FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_terms_from_updated()"
    )
    op.execute(_insert_terms("products AS product"))

    op.create_index("ix_products_created_at_id", "products", ["created_at", "id"], unique=False)
    op.create_index("ix_products_base_price_id", "products", ["base_price", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_products_base_price_id", table_name="products")
    op.drop_index("ix_products_created_at_id", table_name="products")
    op.execute("DROP TRIGGER catalog_search_terms_on_update ON products")
    op.execute("DROP TRIGGER catalog_search_terms_on_insert ON products")
    op.execute("DROP FUNCTION catalog_search_terms_from_updated()")
    op.execute("DROP FUNCTION catalog_search_terms_from_inserted()")
    op.drop_index(
        "ix_catalog_search_terms_term_trgm",
        table_name="catalog_search_terms",
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )
    op.drop_table("catalog_search_terms")
