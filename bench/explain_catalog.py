"""EXPLAIN ANALYZE of every catalog search query shape, built by the service's own code.

    .venv/bin/python bench/explain_catalog.py --database-url postgresql://...  [--shape text]

Run it on a database filled by `generate_catalog.py`. For each shape it prepares the
statement exactly as a request would (typo corrections, category scope, cursor) and prints
the plan of its third execution (caches warm), then one summary line per shape. The
targets (a frequent word, its misspelling, a category, a deep cursor) are picked the way
`bench_catalog.py` picks them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench_catalog import pick_targets
from generate_catalog import DEFAULT_DATABASE_URL
from marketplace.catalog.search import repository, service
from marketplace.catalog.search.schemas import ProductSearchParams
from marketplace.core.db import to_async_url
from marketplace.core.pagination import encode_cursor

RUNS = 3


def _shapes(targets: dict[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (kind, parameters): kind "list", "facets" or "corrections" (the lookup of a
    query's typo corrections that precedes every text search)."""
    return {
        "text": ("list", {"q": targets["word"]}),
        "typo corrections": ("corrections", {"q": f"{targets['typo']} {targets['word']}"}),
        "typo": ("list", {"q": targets["typo"]}),
        "sku": ("list", {"q": targets["sku"]}),
        "category+price": (
            "list",
            {"category": targets["category"], "price_min": "10", "price_max": "100"},
        ),
        "newest": ("list", {}),
        "deep cursor": ("list", {"cursor": targets["deep_cursor"]}),
        "price sort": ("list", {"sort": "price_asc"}),
        "text+price sort at quantity": (
            "list",
            {"q": targets["word"], "sort": "price_asc", "quantity": "500"},
        ),
        "attributes": ("list", {"attribute": ["color:red", "brand:Bosch"]}),
        "facets text": ("facets", {"q": targets["word"]}),
        "facets all": ("facets", {}),
    }


async def _deep_cursor(session: AsyncSession, pages: int) -> str:
    """The cursor after `pages` pages of 20, newest first (what a client walking gets)."""
    statement = repository.search_statement(
        repository.SearchFilters(), service.SearchSort.NEWEST, None, pages * 20
    )
    rows = (await session.execute(statement)).all()
    last = rows[-1]
    return str(encode_cursor(*service._keyset_of(service.SearchSort.NEWEST)(last._mapping)))


async def explain(database_url: str, only: str | None) -> None:
    targets = await pick_targets(database_url)
    engine = create_async_engine(to_async_url(database_url))
    summary: list[str] = []
    async with AsyncSession(engine) as session:
        targets["deep_cursor"] = await _deep_cursor(session, 100)
        targets["sku"] = str(
            (await session.execute(text("SELECT sku FROM products ORDER BY id LIMIT 1"))).scalar()
        )
        for name, (kind, values) in _shapes(targets).items():
            if only is not None and name != only:
                continue
            if kind == "corrections":
                statement = repository.CORRECTION_CANDIDATES.bindparams(
                    **repository.correction_parameters(
                        values["q"],
                        max_tokens=service.MAX_QUERY_TOKENS,
                        min_length=service.MIN_CORRECTED_LENGTH,
                        two_typos_from=service.TWO_TYPOS_FROM,
                    )
                )
                await _explain_and_summarise(session, name, values, statement, summary)
                continue
            params = ProductSearchParams.model_validate(values)
            pairs = [
                (key, value) for key, _, value in (item.partition(":") for item in params.attribute)
            ]
            filters = await service.build_filters(session, params, pairs)
            sort = service.effective_sort(params)
            if kind == "facets":
                statement = repository.facet_statement(filters, repository.FACET_SAMPLE_LIMIT)
            else:
                after = service._decode_keyset(params.cursor, sort) if params.cursor else None
                statement = repository.search_statement(filters, sort, after, params.limit + 1)
            if filters.quantity is not None:  # as the repository does for these
                await session.execute(text("SET LOCAL jit = off"))
            await _explain_and_summarise(session, name, values, statement, summary)
    await engine.dispose()
    print("\nshape                          execution  key nodes")
    print("\n".join(summary))


async def _explain_and_summarise(
    session: AsyncSession, name: str, values: dict[str, Any], statement: Any, summary: list[str]
) -> None:
    plan = await _explain(session, statement)
    print(f"\n=== {name}: {values}\n" + "\n".join(plan))
    timing = next(line for line in plan if line.startswith("Execution Time"))
    summary.append(f"{name:<28} {timing.split(':')[1].strip():>12}  {_nodes(plan)}")
    await session.rollback()


async def _explain(session: AsyncSession, statement: Any) -> list[str]:
    """EXPLAIN ANALYZE the statement with its parameters bound as the service binds them
    (asyncpg, typed placeholders), on its third run."""
    connection = await session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    processors = compiled._bind_processors
    values = []
    for name in compiled.positiontup or ():
        processor = processors.get(name)
        values.append(processor(params[name]) if processor else params[name])
    plan: list[str] = []
    for _ in range(RUNS):
        result = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, tuple(values)
        )
        plan = [row[0] for row in result]
    return plan


def _nodes(plan: list[str]) -> str:
    """The scan and sort nodes of a plan, in order, without their costs."""
    nodes = []
    for line in plan:
        match = re.search(
            r"((?:Parallel )?(?:Index Only Scan|Index Scan(?: Backward)?|Bitmap Index Scan|"
            r"Seq Scan|Incremental Sort|Sort|MixedAggregate|HashAggregate)(?: using \S+)?"
            r"(?: on \S+)?)",
            line,
        )
        if match and match.group(1) not in nodes:
            nodes.append(match.group(1))
    return "; ".join(nodes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--shape", help="only this shape")
    arguments = parser.parse_args()
    asyncio.run(explain(arguments.database_url, arguments.shape))
    return 0


if __name__ == "__main__":
    sys.exit(main())
