"""Searches are planned for their parameters; everything else keeps PostgreSQL's plan
cache (generic plans once they are as good, which order placement needs)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.search import repository
from marketplace.catalog.search.schemas import SearchSort
from marketplace.core.db import Database


async def plan_cache_mode(session: AsyncSession) -> str:
    return str((await session.execute(text("SHOW plan_cache_mode"))).scalar_one())


async def test_searches_plan_for_their_parameters_and_nothing_else_does(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with database.session_factory() as session:
            assert await plan_cache_mode(session) == "auto"
            await session.commit()

            filters = repository.SearchFilters(quantity=Decimal(10))
            await repository.search(session, filters, SearchSort.NEWEST, None, 5)
            assert await plan_cache_mode(session) == "force_custom_plan"
            await session.commit()

            # The next transaction, on the same connection, is back to the default.
            assert await plan_cache_mode(session) == "auto"
            await repository.facet_counts(session, repository.SearchFilters())
            assert await plan_cache_mode(session) == "force_custom_plan"
            await session.rollback()

            await repository.correction_candidates(
                session, "bolts", max_tokens=3, min_length=3, two_typos_from=5
            )
            assert await plan_cache_mode(session) == "force_custom_plan"
    finally:
        await database.dispose()
