"""Searches are planned for their parameters; everything else keeps PostgreSQL's plan
cache (generic plans once they are as good, which order placement needs)."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.search import repository
from marketplace.catalog.search.schemas import SearchSort
from marketplace.core.db import Database
from tests.catalog.search.conftest import Catalog, search
from tests.statements import statements_sent


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


async def test_a_category_scope_sets_the_plans_in_its_own_round_trip(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    # A category's search: its scope (which also sets plan_cache_mode), then the search;
    # the setting is no statement of its own. (A first search has the driver learn the
    # types of the results: statements of its own, once per connection.)
    await search(client, category="test-safety", sort="newest")
    async with statements_sent(db_session) as sent:
        body = await search(client, category="test-tools", sort="newest")
    assert "drill" in catalog.names([item["id"] for item in body["items"]])  # a subcategory's
    assert len(sent) == 2, sent.statements
    assert sent.count("set_config") == 1
    assert sent.count("FROM categories") == 1
    assert await plan_cache_mode(db_session) == "force_custom_plan"


async def test_the_scope_of_an_unknown_category_is_none(db_session: AsyncSession) -> None:
    assert await repository.category_scope(db_session, "no-such-category-slug") is None
    assert await plan_cache_mode(db_session) == "force_custom_plan"
