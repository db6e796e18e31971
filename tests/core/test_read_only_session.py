"""The read-only session kind (`ReadOnlySessionDep`): an anonymous read sends its
statements outside a transaction (no BEGIN, no COMMIT); a request that has begun one
(a signed-in caller's credential was read) keeps it, on the same connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.deps import ReadOnlySessionDep, SessionDep
from marketplace.core.driver import DriverStatement, driver_connection
from marketplace.settings import Settings
from tests.conftest import client_for, started_app
from tests.factories import platform_of

probe = APIRouter(prefix="/api/v1/_read_probe")

_ONE = DriverStatement(select(text("1")))


async def _state(session: AsyncSession) -> dict[str, Any]:
    orm = (await session.execute(text("SELECT 41 + 1"))).scalar_one()
    driver = await driver_connection(session)
    return {
        "orm": orm,
        "driver": await _ONE.fetchval(session),
        "in_transaction": driver.is_in_transaction(),
        "backend": await driver.fetchval("SELECT pg_backend_pid()"),
    }


@probe.get("/alone")
async def read_alone(session: ReadOnlySessionDep) -> dict[str, Any]:
    return await _state(session)


async def read_first(session: SessionDep) -> int:
    """As a signed-in caller's credential is read, before the route's dependencies."""
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@probe.get("/after-a-read")
async def read_after_a_read(
    first: Annotated[int, Depends(read_first, scope="function")], session: ReadOnlySessionDep
) -> dict[str, Any]:
    return {**await _state(session), "first_backend": first}


@probe.get("/write-kind")
async def read_in_the_write_kind(session: SessionDep) -> dict[str, Any]:
    return await _state(session)


@asynccontextmanager
async def wire(app: FastAPI) -> AsyncIterator[list[tuple[int, str]]]:
    """Every statement the application's pooled connections send meanwhile, with the
    server process of its connection: the driver's (BEGIN and COMMIT included, asyncpg's
    query logger) and SQLAlchemy's (its cursor event). Background work (the outbox relay,
    jobs) uses the same pool: filter by the request's connection."""
    sent: list[tuple[int, str]] = []
    engine = platform_of(app).database.engine.sync_engine
    logged: set[int] = set()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if id(driver) not in logged:
            logged.add(id(driver))
            pid = driver.get_server_pid()
            driver.add_query_logger(lambda query: sent.append((pid, query.query)))

    def cursor(connection: Any, _cursor: Any, statement: str, *rest: Any) -> None:
        pid = connection.connection.driver_connection.get_server_pid()
        sent.append((pid, statement))

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "before_cursor_execute", cursor)
    try:
        yield sent
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
    finally:
        event.remove(engine, "checkout", checked_out)
        event.remove(engine, "before_cursor_execute", cursor)


def on(sent: list[tuple[int, str]], backend: int) -> list[str]:
    return [statement for pid, statement in sent if pid == backend]


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    # No relay and no jobs: their statements share the pool, and these tests count.
    return shared_settings.model_copy(update={"outbox_relay_enabled": False})


@pytest.fixture
async def real_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real session dependencies (no test transaction)."""
    async for app in started_app(settings):
        app.include_router(probe)
        async with client_for(app) as client:
            yield app, client


def transactions(statements: list[str]) -> tuple[int, int]:
    """(transactions committed, transactions begun and not rolled back). Background
    reads of the application (the IP rules' refresh) share the pool: each is a
    BEGIN ... ROLLBACK, so a request's own transactions are the committed ones."""
    words = [statement.strip().rstrip(";").split()[0].upper() for statement in statements]
    return words.count("COMMIT"), words.count("BEGIN") - words.count("ROLLBACK")


async def test_a_read_alone_runs_outside_a_transaction(real_app: Any) -> None:
    app, client = real_app
    async with wire(app) as sent:
        response = await client.get("/api/v1/_read_probe/alone")
    assert response.status_code == 200
    body = response.json()
    assert body["orm"] == 42
    assert body["driver"] == 1
    assert body["in_transaction"] is False
    assert transactions(on(sent, body["backend"])) == (0, 0), sent


async def test_a_request_that_began_a_transaction_keeps_it_on_one_connection(
    real_app: Any,
) -> None:
    app, client = real_app
    async with wire(app) as sent:
        response = await client.get("/api/v1/_read_probe/after-a-read")
    assert response.status_code == 200
    body = response.json()
    assert body["in_transaction"] is True
    assert body["backend"] == body["first_backend"]
    assert transactions(on(sent, body["backend"])) == (1, 1), sent


async def test_the_write_kind_still_begins_and_commits(real_app: Any) -> None:
    app, client = real_app
    async with wire(app) as sent:
        response = await client.get("/api/v1/_read_probe/write-kind")
    assert response.status_code == 200
    body = response.json()
    assert body["in_transaction"] is True
    assert transactions(on(sent, body["backend"])) == (1, 1), sent


async def test_an_anonymous_product_read_sends_one_statement(real_app: Any) -> None:
    # Unknown: the product's statement runs and finds nothing (a 404), which is the
    # whole database work of an uncached anonymous detail.
    app, client = real_app
    async with wire(app) as sent:
        response = await client.get(f"/api/v1/products/{uuid.uuid4()}")
    assert response.status_code == 404
    reads = [(pid, statement) for pid, statement in sent if "FROM products" in statement]
    assert len(reads) == 1, sent
    assert transactions(on(sent, reads[0][0])) == (0, 0), sent


async def test_a_connection_goes_back_to_the_pool_in_its_usual_mode(real_app: Any) -> None:
    # The next request on the same (only idle) connection begins its transaction again.
    _app, client = real_app
    assert (await client.get("/api/v1/_read_probe/alone")).json()["in_transaction"] is False
    assert (await client.get("/api/v1/_read_probe/write-kind")).json()["in_transaction"] is True
    assert (await client.get("/api/v1/_read_probe/alone")).json()["in_transaction"] is False
