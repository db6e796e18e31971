"""The orders baseline: the least database work an order needs, on a raw asyncpg pool.

One transaction: a conditional stock decrement (never below zero) and the insert of an
order and its line into tables of its own. No authentication, pricing, validation,
numbering, events or middleware: the floor the real `POST /orders` is compared with. With an
`Idempotency-Key` header the key is recorded in the same transaction (one more statement)
and a repeated key answers with the order it made, as the service does.

The two-supplier checkout likewise: `PUT /api/v1/cart/lines/{product_id}` upserts a cart
row; `POST /api/v1/checkout` takes the cart (one statement, with each product's supplier),
reserves each line's stock, inserts one order per supplier and the lines, in one
transaction. Run by `bench_orders.py` and `bench/suite.py` under uvicorn with the same
worker count:

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
CREATE TABLE IF NOT EXISTS baseline_idempotency (
    buyer text NOT NULL, key text NOT NULL, order_id uuid NOT NULL, PRIMARY KEY (buyer, key)
);
CREATE TABLE IF NOT EXISTS baseline_cart (
    buyer text NOT NULL, product_id uuid NOT NULL, quantity numeric NOT NULL,
    PRIMARY KEY (buyer, product_id)
);
"""
REMEMBER_KEY = """
    INSERT INTO baseline_idempotency (buyer, key, order_id) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING RETURNING order_id
"""


class OutOfStock(Exception):
    """A line's stock does not cover it: the transaction is rolled back."""


async def _reserve(
    connection: asyncpg.Connection, product_id: uuid.UUID, quantity: Decimal
) -> None:
    reserved = await connection.fetchval(
        "UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2 RETURNING id",
        product_id,
        quantity,
    )
    if reserved is None:
        raise OutOfStock


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
        buyer = request.headers.get("x-company-id", "")
        key = request.headers.get("idempotency-key")
        try:
            async with pool.acquire() as connection, connection.transaction():
                if (
                    key is not None
                    and await connection.fetchval(REMEMBER_KEY, buyer, key, order_id) is None
                ):
                    return {"replayed": True}
                await _reserve(connection, product_id, quantity)
                await connection.execute(
                    "INSERT INTO baseline_orders (id, buyer) VALUES ($1, $2)", order_id, buyer
                )
                await connection.execute(
                    "INSERT INTO baseline_order_lines (order_id, product_id, quantity) "
                    "VALUES ($1, $2, $3)",
                    order_id,
                    product_id,
                    quantity,
                )
        except OutOfStock:
            response.status_code = 409
            return {"detail": "insufficient stock"}
        return {"id": str(order_id)}

    @app.put("/api/v1/cart/lines/{product_id}")
    async def set_cart_line(product_id: uuid.UUID, request: Request) -> dict[str, Any]:
        body = await request.json()
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO baseline_cart (buyer, product_id, quantity) VALUES ($1, $2, $3) "
                "ON CONFLICT (buyer, product_id) DO UPDATE SET quantity = excluded.quantity",
                request.headers.get("x-company-id", ""),
                product_id,
                Decimal(body["quantity"]),
            )
        return {"product_id": str(product_id), "quantity": body["quantity"]}

    @app.post("/api/v1/checkout", status_code=201)
    async def checkout(request: Request, response: Response) -> dict[str, Any]:
        await request.json()
        buyer = request.headers.get("x-company-id", "")
        key = request.headers.get("idempotency-key")
        pool: asyncpg.Pool = request.app.state.pool
        orders: dict[uuid.UUID, uuid.UUID] = {}
        try:
            async with pool.acquire() as connection, connection.transaction():
                if key is not None:
                    remembered = await connection.fetchval(REMEMBER_KEY, buyer, key, uuid.uuid4())
                    if remembered is None:
                        return {"replayed": True}
                lines = await connection.fetch(
                    "DELETE FROM baseline_cart c USING products p "
                    "WHERE c.buyer = $1 AND p.id = c.product_id "
                    "RETURNING c.product_id, c.quantity, p.supplier_id",
                    buyer,
                )
                if not lines:
                    response.status_code = 409
                    return {"detail": "empty cart"}
                for line in lines:
                    await _reserve(connection, line["product_id"], line["quantity"])
                    orders.setdefault(line["supplier_id"], uuid.uuid4())
                await connection.executemany(
                    "INSERT INTO baseline_orders (id, buyer) VALUES ($1, $2)",
                    [(order_id, buyer) for order_id in orders.values()],
                )
                await connection.executemany(
                    "INSERT INTO baseline_order_lines (order_id, product_id, quantity) "
                    "VALUES ($1, $2, $3)",
                    [
                        (orders[line["supplier_id"]], line["product_id"], line["quantity"])
                        for line in lines
                    ],
                )
        except OutOfStock:
            response.status_code = 409
            return {"detail": "insufficient stock"}
        return {"orders": [str(order_id) for order_id in orders.values()]}

    return app
