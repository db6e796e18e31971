"""Imports every domain's models so that `Base.metadata` knows all tables (Alembic)."""

from marketplace.core.db import Base

__all__ = ["Base"]
