"""The orders baseline: the least database work an order needs, on a raw asyncpg pool.

One transaction: a conditional stock decrement (never below zero) and the insert of an
order and its line into tables of its own. No authentication, pricing, validation,
numbering, events or middleware: the floor the real `POST /orders` is compared with. Run by
`bench_orders.py` under uvicorn with the same worker count:

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db \
        .venv/bin/python -m uvicorn baseline_orders_app:create_app --factory --app-dir bench
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response

from baseline_app import POOL_MAX_SIZE, POOL_MIN_SIZE

SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline_orders (
    id uuid PRIMARY KEY, buyer text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS baseline_order_lines (
    order_id uuid NOT NULL REFERENCES baseline_orders (id),
    product_id uuid NOT NULL,
    quantity numeric NOT NULL
);
"""


def create_app() -> FastAPI:
    database_url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            database_url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE
        )
        async with pool.acquire() as connection:
            await connection.execute(SCHEMA)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/ready")
    async def ready() -> dict[str, Any]:
        return {"status": "ready"}

    @app.post("/api/v1/orders", status_code=201)
    async def place(request: Request, response: Response) -> dict[str, Any]:
        body = await request.json()
        line = body["lines"][0]
        product_id = uuid.UUID(line["product_id"])
        quantity = Decimal(line["quantity"])
        pool: asyncpg.Pool = request.app.state.pool
        order_id = uuid.uuid4()
        async with pool.acquire() as connection, connection.transaction():
            reserved = await connection.fetchval(
                "UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2 RETURNING id",
                product_id,
                quantity,
            )
            if reserved is None:
                response.status_code = 409
                return {"detail": "insufficient stock"}
            await connection.execute(
                "INSERT INTO baseline_orders (id, buyer) VALUES ($1, $2)",
                order_id,
                request.headers.get("x-company-id", ""),
            )
            await connection.execute(
                "INSERT INTO baseline_order_lines (order_id, product_id, quantity) "
                "VALUES ($1, $2, $3)",
                order_id,
                product_id,
                quantity,
            )
        return {"id": str(order_id)}

    return app
