"""The baseline: a bare FastAPI app answering the same health endpoints with a raw asyncpg pool.

No middleware, no settings, no SQLAlchemy: the floor that the real service is compared with.
Run by `bench_health.py` under uvicorn with the same worker count:

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db \
        .venv/bin/python -m uvicorn baseline_app:create_app --factory --app-dir bench
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request

# The same ceiling as the service's SQLAlchemy pool (pool_size 10 + max_overflow 10).
POOL_MIN_SIZE = 10
POOL_MAX_SIZE = 20


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

    @app.get("/health/live")
    async def live() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready(request: Request) -> dict[str, Any]:
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            rows = await connection.fetch("SELECT version_num FROM alembic_version")
        return {"status": "ready", "revisions": [row["version_num"] for row in rows]}

    return app
