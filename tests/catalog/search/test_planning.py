"""Searches are planned for their actual parameters on every run: each of their
statements is parsed afresh (`core.driver.plan_each_run`), so PostgreSQL never keeps a
generic plan for them (ten times slower for search). No setting does it: no statement
of its own, no transaction needed, and everything else keeps PostgreSQL's plan cache
(generic plans once they are as good, which order placement needs)."""

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


async def test_searches_are_parsed_afresh_each_run_and_change_no_setting(
    database_url: str,
) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with database.session_factory() as session:
            # More runs than PostgreSQL's five before it weighs a generic plan.
            for _ in range(7):
                await repository.search(
                    session,
                    repository.SearchFilters(quantity=Decimal(10)),
                    SearchSort.NEWEST,
                    None,
                    5,
                )
                await repository.facet_counts(session, repository.SearchFilters())
                await repository.correction_candidates(
                    session, "bolts", max_tokens=3, min_length=3, two_typos_from=5
                )
            assert await plan_cache_mode(session) == "auto"
            kept = await session.scalars(text("SELECT statement FROM pg_prepared_statements"))
            named = [
                statement
                for statement in kept
                if "FROM products" in statement or "catalog_search_term_deletions" in statement
            ]
            assert named == []
            await session.rollback()
    finally:
        await database.dispose()


async def test_a_category_search_is_its_scope_and_its_page(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    # (A first search has the driver learn the types of the results: statements of its
    # own, once per connection.)
    await search(client, category="test-safety", sort="newest")
    async with statements_sent(db_session) as sent:
        body = await search(client, category="test-tools", sort="newest")
    assert "drill" in catalog.names([item["id"] for item in body["items"]])  # a subcategory's
    assert len(sent) == 2, sent.statements
    assert sent.count("FROM categories") == 1
    assert sent.count("set_config") == 0
    assert await plan_cache_mode(db_session) == "auto"


async def test_a_text_search_is_its_words_and_its_page(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    await search(client, q="drill")
    async with statements_sent(db_session) as sent:
        body = await search(client, q="drll")  # corrected
    assert "drill" in catalog.names([item["id"] for item in body["items"]])
    assert len(sent) == 2, sent.statements
    assert sent.count("catalog_search_term_deletions") == 1
    assert sent.count("FROM products") == 1


async def test_the_scope_of_an_unknown_category_is_none(db_session: AsyncSession) -> None:
    assert await repository.category_scope(db_session, "no-such-category-slug") is None
