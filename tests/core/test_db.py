"""The request owns the transaction: committed on success, rolled back on error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from marketplace.core.db import SSL_MODES, Database, connection_url, to_async_url
from marketplace.core.deps import SessionDep
from marketplace.core.openapi import problems
from marketplace.settings import Settings
from tests.conftest import client_for, started_app

probe = APIRouter(prefix="/api/v1/_probe")


@probe.post("/notes/{label}", responses=problems(409))
async def write_note(label: str, session: SessionDep) -> dict[str, str]:
    await session.execute(text("INSERT INTO probe_notes (label) VALUES (:label)"), {"label": label})
    if label.startswith("fail"):
        raise RuntimeError("failure after the write")
    return {"label": label}


@pytest.fixture
async def committing_client(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Connection]]:
    """The real session dependency (no test transaction), on a scratch table."""
    raw = await asyncpg.connect(database_url)
    await raw.execute("CREATE TABLE IF NOT EXISTS probe_notes (label text PRIMARY KEY)")
    await raw.execute("TRUNCATE probe_notes")
    async for app in started_app(settings):
        app.include_router(probe)
        async with client_for(app) as client:
            yield client, raw
    await raw.execute("DROP TABLE probe_notes")
    await raw.close()


async def test_successful_request_commits(committing_client) -> None:  # type: ignore[no-untyped-def]
    client, raw = committing_client
    label = f"ok-{uuid.uuid4().hex[:6]}"
    response = await client.post(f"/api/v1/_probe/notes/{label}")
    assert response.status_code == 200
    assert await raw.fetchval("SELECT count(*) FROM probe_notes WHERE label = $1", label) == 1


async def test_failed_request_writes_nothing(committing_client) -> None:  # type: ignore[no-untyped-def]
    client, raw = committing_client
    response = await client.post("/api/v1/_probe/notes/fail-1")
    assert response.status_code == 500
    assert await raw.fetchval("SELECT count(*) FROM probe_notes") == 0


async def test_commit_failure_is_an_error_not_a_success(committing_client) -> None:  # type: ignore[no-untyped-def]
    client, raw = committing_client
    # A deferred unique constraint fails only at COMMIT, after the handler returned.
    await raw.execute("ALTER TABLE probe_notes DROP CONSTRAINT probe_notes_pkey")
    await raw.execute(
        "ALTER TABLE probe_notes ADD CONSTRAINT probe_notes_pkey UNIQUE (label) "
        "DEFERRABLE INITIALLY DEFERRED"
    )
    await raw.execute("INSERT INTO probe_notes (label) VALUES ('taken')")
    response = await client.post("/api/v1/_probe/notes/taken")
    # Never the handler's 200: the clash found at COMMIT is answered as every unique
    # violation is (core/errors.py), a 409 conflict.
    assert response.status_code == 409
    assert response.json()["type"] == "urn:marketplace:problem:conflict"
    assert await raw.fetchval("SELECT count(*) FROM probe_notes") == 1


def test_database_url_spellings() -> None:
    assert to_async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert to_async_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert to_async_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ValueError, match="postgresql"):
        to_async_url("mysql://u@h/db")


async def test_connections_do_not_jit_compile(database_url: str) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with database.session_factory() as session:
            jit = (await session.execute(text("SHOW jit"))).scalar_one()
    finally:
        await database.dispose()
    assert jit == "off"


async def _kill_pooled_connection(database: Database, database_url: str) -> None:
    """Use the pool's one connection, then end its server process behind its back."""
    async with database.session_factory() as session:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    raw = await asyncpg.connect(database_url)
    try:
        assert await raw.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await raw.close()


async def read_one(database: Database) -> int:
    async with database.session_factory() as session:
        return int((await session.execute(text("SELECT 1"))).scalar_one())


async def test_a_connection_that_died_while_idle_is_replaced_unseen(database_url: str) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0, ping_after_idle_seconds=0.05)
    try:
        await _kill_pooled_connection(database, database_url)
        await asyncio.sleep(0.1)
        assert await read_one(database) == 1
    finally:
        await database.dispose()


async def test_a_connection_the_server_closed_is_replaced_without_a_ping(
    database_url: str,
) -> None:
    # The same death without the idle time, so no ping: the server closed the socket
    # (a restart, pg_terminate_backend), asyncpg has seen it, and the checkout replaces
    # the connection instead of handing it to the request (core/db.py, `_ping_when_idle`).
    database = Database(database_url, pool_size=1, max_overflow=0, ping_after_idle_seconds=60)
    try:
        await _kill_pooled_connection(database, database_url)
        await asyncio.sleep(0.1)  # the event loop reads the server's goodbye
        assert await read_one(database) == 1
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://app:pw@db.example.com:5432/shop?sslmode=require",
            "postgresql://app:pw@db.example.com:5432/shop?sslmode=require",
        ),
        (
            "postgres://app@db/shop?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
            "postgresql://app@db/shop?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
        ),
        (
            "postgresql+asyncpg://app@db/shop?ssl=verify-ca",
            "postgresql://app@db/shop?sslmode=verify-ca",
        ),
        (
            "postgresql://postgres@/marketplace?host=/srv/var/pgdata",
            "postgresql://postgres@/marketplace?host=/srv/var/pgdata",
        ),
    ],
)
def test_the_connection_url_keeps_libpq_parameters(url: str, expected: str) -> None:
    assert connection_url(url) == expected


@pytest.mark.parametrize("mode", SSL_MODES)
def test_every_libpq_sslmode_is_accepted(mode: str) -> None:
    assert connection_url(f"postgresql://db/shop?sslmode={mode}").endswith(f"sslmode={mode}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://db/shop?sslmode=always", "sslmode must be one of"),
        ("postgresql://db/shop?ssl=require&sslmode=require", "either ssl or sslmode"),
        ("mysql://db/shop", "postgresql:// URL"),
    ],
)
def test_a_url_asyncpg_would_refuse_is_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        connection_url(url)


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
async def test_the_pool_connects_with_an_sslmode_in_the_url(database_url: str, mode: str) -> None:
    """The local server speaks no TLS: these modes connect without it. Before, any
    `sslmode` failed at the first connection (TypeError: unexpected keyword argument)."""
    database = Database(f"{database_url}?sslmode={mode}", pool_size=1, max_overflow=0)
    try:
        async with database.engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await database.dispose()


async def test_sslmode_require_insists_on_tls(database_url: str) -> None:
    database = Database(f"{database_url}?sslmode=require", pool_size=1, max_overflow=0)
    try:
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            async with database.engine.connect():
                pass
    finally:
        await database.dispose()


async def test_the_pool_counts_the_checkouts_waiting_for_a_connection(database_url: str) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0, ping_after_idle_seconds=60)
    try:
        assert await read_one(database) == 1  # the pool's one connection is open
        async with database.session_factory() as holder:
            await holder.execute(text("SELECT 1"))  # holds it
            waiters = [asyncio.create_task(read_one(database)) for _ in range(2)]
            await asyncio.sleep(0.2)
            status = database.pool_status()
            assert (status["checked_out"], status["waiting"]) == (1, 2)
        assert await asyncio.gather(*waiters) == [1, 1]
        status = database.pool_status()
        assert (status["checked_out"], status["waiting"]) == (0, 0)
    finally:
        await database.dispose()


async def test_connections_opened_beyond_the_pool_size_are_kept(database_url: str) -> None:
    # A burst opens the overflow; the next burst gets the same connections instead of
    # opening them again (core/db.py, `Database.__init__`), within the same ceiling.
    database = Database(database_url, pool_size=1, max_overflow=2, ping_after_idle_seconds=60)
    held = asyncio.Event()

    async def backend_during_burst() -> int:
        async with database.session_factory() as session:
            pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await held.wait()
            return pid

    async def burst() -> set[int]:
        held.clear()
        tasks = [asyncio.create_task(backend_during_burst()) for _ in range(3)]
        await asyncio.sleep(0.2)
        status = database.pool_status()
        assert (status["checked_out"], status["size"], status["overflow"]) == (3, 1, 2)
        held.set()
        return set(await asyncio.gather(*tasks))

    try:
        first = await burst()
        status = database.pool_status()
        assert (status["checked_out"], status["idle"], status["overflow"]) == (0, 3, 2)
        second = await burst()
        assert len(first) == 3
        assert second == first
    finally:
        await database.dispose()
