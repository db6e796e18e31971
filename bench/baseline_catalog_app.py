"""The catalog baseline: bare FastAPI answering each catalog read with the fewest statements.

No middleware, no settings, no SQLAlchemy, no cache, no authentication: the floor that the
service's catalog reads are compared with. Each route does the same database work as the
service's, bare:

- `GET /products/{id}`: one primary-key query on `products` (`bench_catalog.py`);
- `GET /detail/{id}`: the visible product with its supplier and its price tiers, one
  statement; with `X-Company-ID` (a signed-in buyer) one more for the buyer's price-list
  tiers of that product;
- `GET /search?q=`: a full-text match ranked by `ts_rank`, 20 rows and their tiers, one
  statement; with `typo=1` the query word is first corrected through the deletion index of
  the search dictionary (one more statement), as the service does;
- `GET /search?category=&price_min=&price_max=`: newest first in a category subtree;
- `GET /search?after_created=&after_id=`: a keyset page deep in the newest-first order;
- with `X-Company-ID` (a signed-in buyer) one more statement for the buyer's price-list
  tiers of the page's products.

Run by `bench/suite.py` and `bench_catalog.py` under uvicorn with the same worker count:

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db \
        .venv/bin/python -m uvicorn baseline_catalog_app:create_app --factory --app-dir bench
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Request

# The same ceiling as the service's SQLAlchemy pool (pool_size 10 + max_overflow 10).
POOL_MIN_SIZE = 10
POOL_MAX_SIZE = 20
PRODUCT_BY_ID = """
    SELECT id, sku, name, description, unit, currency, base_price, moq, stock,
           lead_time_days, attributes::text AS attributes, created_at
    FROM products WHERE id = $1
"""
PAGE_SIZE = 20
# The columns a listing shows, with the visibility rule and the tiers, in one statement.
CARD = """
    SELECT p.id, p.sku, p.name, p.unit, p.currency, p.base_price, p.moq, p.stock,
           p.created_at, c.name AS supplier_name,
           (SELECT coalesce(json_agg(json_build_array(t.min_qty, t.unit_price)
                                     ORDER BY t.min_qty), '[]')::text
            FROM price_tiers t WHERE t.product_id = p.id) AS tiers
    FROM products p JOIN companies c ON c.id = p.supplier_id
    WHERE p.status = 'active' AND NOT p.is_blocked AND c.verification_status = 'verified'
"""
DETAIL = f"""
    SELECT p.description, p.attributes::text AS attributes, p.lead_time_days, card.*
    FROM ({CARD} AND p.id = $1) AS card JOIN products p ON p.id = card.id
"""
BUYER_TIERS = """
    SELECT t.min_qty, t.unit_price FROM price_list_tiers t
    JOIN price_list_assignments a ON a.price_list_id = t.price_list_id
    WHERE a.buyer_id = $1 AND t.product_id = $2 ORDER BY t.min_qty
"""
BUYER_PAGE_TIERS = """
    SELECT t.product_id, t.min_qty, t.unit_price FROM price_list_tiers t
    JOIN price_list_assignments a ON a.price_list_id = t.price_list_id
    WHERE a.buyer_id = $1 AND t.product_id = ANY($2::uuid[])
"""
TEXT_SEARCH = f"""
    {CARD} AND p.search_vector @@ to_tsquery('simple', $1)
    ORDER BY ts_rank(p.search_vector, to_tsquery('simple', $1), 32) DESC, p.id
    LIMIT {PAGE_SIZE + 1}
"""
CORRECTIONS = """
    SELECT DISTINCT term FROM catalog_search_term_deletions WHERE deletion = ANY($1::text[])
"""
CATEGORY = f"""
    {CARD} AND p.category_id IN (SELECT id FROM categories WHERE path = $1 OR path LIKE $1 || '/%')
    AND p.base_price BETWEEN $2 AND $3
    ORDER BY p.created_at DESC, p.id DESC LIMIT {PAGE_SIZE + 1}
"""
KEYSET = f"""
    {CARD} AND (p.created_at, p.id) < ($1, $2)
    ORDER BY p.created_at DESC, p.id DESC LIMIT {PAGE_SIZE + 1}
"""


def deletions(word: str) -> list[str]:
    """The word and every string made by deleting one of its letters."""
    return [word, *{word[:index] + word[index + 1 :] for index in range(len(word))}]


def create_app() -> FastAPI:
    database_url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            database_url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE
        )
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/ready")
    async def ready() -> dict[str, Any]:
        return {"status": "ready"}

    @app.get("/products/{product_id}")
    async def product(product_id: uuid.UUID, request: Request) -> dict[str, Any]:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            row = await connection.fetchrow(PRODUCT_BY_ID, product_id)
        if row is None:
            raise HTTPException(status_code=404)
        return dict(row)

    @app.get("/detail/{product_id}")
    async def detail(
        product_id: uuid.UUID,
        request: Request,
        x_company_id: uuid.UUID | None = Header(default=None),
    ) -> dict[str, Any]:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            row = await connection.fetchrow(DETAIL, product_id)
            if row is None:
                raise HTTPException(status_code=404)
            answer = dict(row)
            if x_company_id is not None:
                tiers = await connection.fetch(BUYER_TIERS, x_company_id, product_id)
                answer["buyer_tiers"] = [dict(tier) for tier in tiers]
        return answer

    @app.get("/search")
    async def search(
        request: Request,
        q: str | None = None,
        typo: bool = False,
        category: str | None = None,
        price_min: Decimal = Decimal(0),
        price_max: Decimal = Decimal("1e12"),
        after_created: datetime | None = None,
        after_id: uuid.UUID | None = None,
        x_company_id: uuid.UUID | None = Header(default=None),
    ) -> dict[str, Any]:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            if q is not None:
                words = q.lower().split()
                tsquery = " & ".join(words)  # every word, as the service matches them
                if typo:  # a word misspelt: any of its corrections
                    found = await connection.fetch(
                        CORRECTIONS, [v for word in words for v in deletions(word)]
                    )
                    tsquery = " | ".join(row["term"] for row in found) or tsquery
                rows = await connection.fetch(TEXT_SEARCH, tsquery)
            elif category is not None:
                rows = await connection.fetch(CATEGORY, category, price_min, price_max)
            elif after_created is not None and after_id is not None:
                rows = await connection.fetch(KEYSET, after_created, after_id)
            else:
                raise HTTPException(status_code=422)
            items = [dict(row) for row in rows[:PAGE_SIZE]]
            if x_company_id is not None:  # a signed-in buyer: the page priced by its lists
                tiers = await connection.fetch(
                    BUYER_PAGE_TIERS, x_company_id, [item["id"] for item in items]
                )
                for item in items:
                    item["buyer_tiers"] = [
                        [t["min_qty"], t["unit_price"]]
                        for t in tiers
                        if t["product_id"] == item["id"]
                    ]
        return {"items": items, "more": len(rows) > PAGE_SIZE}

    return app
