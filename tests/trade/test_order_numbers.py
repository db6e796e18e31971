"""Order numbers: one sequence per year, created by the year's first order, even when
several first orders arrive at once."""

from __future__ import annotations

import asyncio
import random

from fastapi import FastAPI
from sqlalchemy import text

from marketplace.core.db import Database
from marketplace.trade.orders import repository
from tests.factories import platform_of


async def test_concurrent_first_orders_of_a_year_get_distinct_numbers(live_app: FastAPI) -> None:
    year = random.randint(3000, 9999)  # a year no other test has numbered
    database = platform_of(live_app).database

    async def number() -> str:
        async with database.session_factory() as session:
            value = await repository.next_order_number(session, year)
            await session.commit()
            return value

    numbers = await asyncio.gather(*(number() for _ in range(12)))
    assert sorted(numbers) == [f"ORD-{year}-{index:06d}" for index in range(1, 13)]
    assert await number() == f"ORD-{year}-000013"
    async with database.session_factory() as session:
        await session.execute(text(f"DROP SEQUENCE order_number_{year}"))
        await session.commit()


async def test_first_orders_of_a_year_need_no_second_connection(database_url: str) -> None:
    """Under load every request holds its pool connection: numbering the year's first
    orders must not wait for another one, or a full pool deadlocks."""
    year = random.randint(3000, 9999)
    database = Database(database_url, pool_size=2, max_overflow=0, pool_timeout=3)
    holding = asyncio.Barrier(2)

    async def number() -> str:
        async with database.session_factory() as session:
            await session.execute(text("SELECT 1"))  # the request's connection, taken
            await holding.wait()  # both connections of the pool are in use now
            value = await repository.next_order_number(session, year)
            await session.commit()
            return value

    try:
        numbers = await asyncio.gather(number(), number())
        assert sorted(numbers) == [f"ORD-{year}-000001", f"ORD-{year}-000002"]
        async with database.session_factory() as session:
            await session.execute(text(f"DROP SEQUENCE order_number_{year}"))
            await session.commit()
    finally:
        await database.dispose()
