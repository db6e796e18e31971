"""The search dictionary: every word of the catalog's search documents, for typo correction.

Filled by statement-level triggers on `products` (migration 0011_catalog_search), never by
application code. A misspelt query word is corrected to the dictionary words nearest to it
in edit distance; to find those through an index, every word is also stored under each
string made by deleting up to two of its letters (`SearchTermDeletion`, filled by a trigger
on the dictionary, migration 0640_search_term_deletions). Words are never removed; a word
whose products are gone only widens a corrected query by a term that matches nothing.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base

# The longest dictionary word (longer words of the documents are left out).
MAX_TERM_LENGTH = 40


class SearchTerm(Base):
    __tablename__ = "catalog_search_terms"

    # "C" collation: the primary key's b-tree then also answers prefix lookups (term ^@ x).
    term: Mapped[str] = mapped_column(String(MAX_TERM_LENGTH, collation="C"), primary_key=True)


class SearchTermDeletion(Base):
    """A dictionary word under one of its deletion variants ("bolt" under "blt", "bt")."""

    __tablename__ = "catalog_search_term_deletions"

    deletion: Mapped[str] = mapped_column(String(MAX_TERM_LENGTH, collation="C"), primary_key=True)
    term: Mapped[str] = mapped_column(
        String(MAX_TERM_LENGTH, collation="C"),
        ForeignKey("catalog_search_terms.term", ondelete="CASCADE"),
        primary_key=True,
    )
