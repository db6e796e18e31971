"""Typo correction by edit distance: every dictionary word under its deletion variants.

Trigram similarity missed the typos people make most in short words: a transposition
("blot", "scerw", "glvoes") shares almost no trigram with the word meant, and "blot"
came out as "block". A query word is now corrected to the dictionary words within one
edit (words under five letters) or two edits (longer words), a transposition counting
as one (optimal string alignment). Those words are found through an index, the
symmetric-delete way: two words are within `d` edits only if deleting at most `d`
letters from each gives a common string, so each dictionary word is stored under every
string made by deleting up to two of its letters (`catalog_search_term_deletions`),
and a query word's own deletions are looked up in that table's primary key; the
service then measures the few candidates exactly.

- `catalog_search_deletions(word, depth)`: the word and the strings made by deleting
  up to `depth` (at most 2) of its letters, none shorter than two letters (query words
  of three letters are corrected by one edit, so nothing shorter is ever looked up).
- `catalog_search_term_deletions`: filled by a statement-level trigger on
  `catalog_search_terms` (whose rows the product triggers insert), in sorted order so
  that concurrent writers cannot deadlock; words are never removed.
- The trigram index of the dictionary is dropped: nothing queries it any more.

Revision ID: 0640_search_term_deletions
Revises: 0090_payment_reversals
Create Date: 2026-12-07 06:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0640_search_term_deletions"
down_revision: str | None = "0621_monthly_budgets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELETIONS_FUNCTION = """
CREATE FUNCTION catalog_search_deletions(word text, depth integer) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT variant FROM (
        SELECT word
        UNION
        SELECT overlay(word PLACING '' FROM first FOR 1)
        FROM generate_series(1, length(word)) AS first
        WHERE depth >= 1
        UNION
        SELECT overlay(overlay(word PLACING '' FROM first FOR 1) PLACING '' FROM second FOR 1)
        FROM generate_series(1, length(word)) AS first,
             generate_series(first, length(word) - 1) AS second
        WHERE depth >= 2
    ) AS variants (variant)
    WHERE length(variant) >= 2
$$
"""


def _insert_deletions(source: str) -> str:
    return (
        "INSERT INTO catalog_search_term_deletions (deletion, term) "
        "SELECT DISTINCT deletion, source.term "
        f"FROM {source} AS source "
        "CROSS JOIN LATERAL catalog_search_deletions(source.term, 2) AS deletion "
        "ORDER BY deletion, source.term "
        "ON CONFLICT DO NOTHING"
    )


def upgrade() -> None:
    op.execute(_DELETIONS_FUNCTION)
    op.create_table(
        "catalog_search_term_deletions",
        sa.Column("deletion", sa.String(length=40, collation="C"), nullable=False),
        sa.Column("term", sa.String(length=40, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["term"],
            ["catalog_search_terms.term"],
            name=op.f("fk_catalog_search_term_deletions_term_catalog_search_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deletion", "term", name=op.f("pk_catalog_search_term_deletions")),
    )
    op.execute(
        "CREATE FUNCTION catalog_search_deletions_from_terms() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{_insert_deletions('inserted_terms')};\nRETURN NULL;\nEND $$"
    )
    op.execute(
        "CREATE TRIGGER catalog_search_deletions_on_insert AFTER INSERT ON catalog_search_terms "
        "REFERENCING NEW TABLE AS inserted_terms "
        "FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_deletions_from_terms()"
    )
    op.execute(_insert_deletions("catalog_search_terms"))
    op.drop_index(
        "ix_catalog_search_terms_term_trgm",
        table_name="catalog_search_terms",
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.create_index(
        "ix_catalog_search_terms_term_trgm",
        "catalog_search_terms",
        ["term"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    )
    op.execute("DROP TRIGGER catalog_search_deletions_on_insert ON catalog_search_terms")
    op.execute("DROP FUNCTION catalog_search_deletions_from_terms()")
    op.drop_table("catalog_search_term_deletions")
    op.execute("DROP FUNCTION catalog_search_deletions(text, integer)")
