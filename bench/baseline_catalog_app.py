"""The catalog baseline: bare FastAPI answering one primary-key query on `products`.

No middleware, no settings, no SQLAlchemy, no cache: the floor that product detail is
compared with. Run by `bench_catalog.py` under uvicorn with the same worker count:

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db \
        .venv/bin/python -m uvicorn baseline_catalog_app:create_app --factory --app-dir bench
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request

# The same ceiling as the service's SQLAlchemy pool (pool_size 10 + max_overflow 10).
POOL_MIN_SIZE = 10
POOL_MAX_SIZE = 20
PRODUCT_BY_ID = """
    SELECT id, sku, name, description, unit, currency, base_price, moq, stock,
           lead_time_days, attributes::text AS attributes, created_at
    FROM products WHERE id = $1
"""


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

    return app
