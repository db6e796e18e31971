"""The search dictionary: every word of the catalog's search documents, for typo correction.

Filled by statement-level triggers on `products` (migration 0011_catalog_search), never by
application code: a misspelt query word is corrected to its nearest dictionary words
(trigram similarity) before the full-text query runs. Words are never removed; a word
whose products are gone only widens a corrected query by a term that matches nothing.
"""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base


class SearchTerm(Base):
    __tablename__ = "catalog_search_terms"
    __table_args__ = (
        Index(
            "ix_catalog_search_terms_term_trgm",
            "term",
            postgresql_using="gin",
            postgresql_ops={"term": "gin_trgm_ops"},
        ),
    )

    # "C" collation: the primary key's b-tree then also answers prefix lookups (term ^@ x).
    term: Mapped[str] = mapped_column(String(40, collation="C"), primary_key=True)
