"""Test infrastructure: real PostgreSQL, Redis and RabbitMQ.

Each test run (each xdist worker) migrates a template database with Alembic once and
gets its own copy of it; each test runs inside a transaction that is rolled back
afterwards. Services are found at their default local addresses (override with TEST_DATABASE_URL,
TEST_REDIS_URL, TEST_AMQP_URL). With CI=true a missing service fails the run;
elsewhere tests that need it are skipped with the reason, and a machine without
PostgreSQL falls back to the embedded server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg
import fastapi.dependencies.utils
import fastapi.routing
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from marketplace.app import create_app
from marketplace.catalog import caching
from marketplace.core.cache import MemoryCache
from marketplace.core.db import _TRANSACTION_MEMO as TRANSACTION_MEMO_KEY
from marketplace.core.db import to_async_url
from marketplace.core.deps import get_read_session, get_session
from marketplace.core.embedded_postgres import EmbeddedPostgres
from marketplace.core.migrations import upgrade_to_head
from marketplace.core.platform import Platform
from marketplace.core.ratelimit import RateLimiter
from marketplace.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def _cache_dependency_analysis() -> None:
    """Most tests build their own application (their settings differ), and `create_app`
    spends nearly all of its time in FastAPI analysing the same endpoints and dependencies
    again. The analysis depends only on the callable and its path, so each is analysed
    once per test worker. Each caller gets its own copy of the top level (FastAPI inserts
    a route's router-level dependencies into it); the analysed parts are never changed."""
    analyse = fastapi.dependencies.utils.get_dependant
    analysed: dict[tuple[Any, ...], Dependant] = {}

    def cached(**arguments: Any) -> Dependant:
        try:
            key = tuple(
                (name, tuple(value) if isinstance(value, list) else value)
                for name, value in sorted(arguments.items())
            )
            dependant = analysed.get(key)
        except TypeError:  # an unhashable callable instance
            return analyse(**arguments)
        if dependant is None:
            dependant = analysed[key] = analyse(**arguments)
        return dataclasses.replace(dependant, dependencies=list(dependant.dependencies))

    fastapi.dependencies.utils.get_dependant = cached
    fastapi.routing.get_dependant = cached  # type: ignore[attr-defined]


_cache_dependency_analysis()


def _port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing from this machine: a skip on a developer's
    machine, a failure in CI, whose own scripts install or start everything."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or, in CI, fail) a test whose external service is not running."""
    if not _port_open(url, default_port):
        unavailable(f"{name} is not reachable at {url}: start it (see README) to run this test")


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server to create test databases on: the machine's, or an embedded one."""
    if _port_open(SERVER_URL, 5432):
        yield SERVER_URL
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is not reachable at {SERVER_URL}")
    embedded = EmbeddedPostgres(
        Path(tempfile.gettempdir()) / f"marketplace-test-pg-{_worker_id()}", "postgres"
    )
    url = embedded.start()
    yield url
    embedded.stop()


def _database_url_on(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return parts._replace(path=f"/{database}").geturl()


async def _asyncpg_connect(url: str) -> asyncpg.Connection:
    # asyncpg wants plain postgresql:// (with ?host= for sockets).
    return await asyncpg.connect(url)


async def _admin(server_url: str, statement: str) -> None:
    connection = await _asyncpg_connect(server_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def migrated_template(postgres_server_url: str) -> Iterator[str]:
    """The name of a database migrated to head once per test run (per xdist worker), which
    nothing ever connects to: `CREATE DATABASE ... TEMPLATE` copies it in a fraction of a
    second, where migrating an empty database takes seconds (most of it PostgreSQL writing
    the DDL of every migration). A copy is what migrating gives, row and schema alike."""
    name = f"mp_template_{_worker_id()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade_to_head(_database_url_on(postgres_server_url, name))
        yield name
    finally:
        asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def create_migrated_database(server_url: str, template: str, purpose: str) -> str:
    """A new database migrated to head (a copy of `migrated_template`); its URL."""
    name = f"mp_test_{purpose}_{uuid.uuid4().hex[:8]}"
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _database_url_on(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def migrated_scratch_database(
    server_url: str, template: str, purpose: str
) -> AsyncIterator[str]:
    """A database of the caller's own migrated to head, dropped afterwards."""
    url = await create_migrated_database(server_url, template, purpose)
    try:
        yield url
    finally:
        await drop_database(server_url, url)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh database for this test run, migrated to head; dropped afterwards."""
    url = asyncio.run(
        create_migrated_database(postgres_server_url, migrated_template, f"session_{_worker_id()}")
    )
    yield url
    asyncio.run(drop_database(postgres_server_url, url))


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": TEST_SECRET_KEY,
        "log_level": "WARNING",
        "redis_key_prefix": f"mp-test-{uuid.uuid4().hex[:8]}:",
        # The repository's own web build (if one was made) is not part of API tests.
        "web_app_dir": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def production_settings(**overrides: Any) -> Settings:
    """Settings a production deployment starts with: production refuses the console and
    file transports that development uses (codes would land in logs and files)."""
    values: dict[str, Any] = {"email_transport": "smtp", "sms_transport": "disabled"}
    values.update(overrides)
    return make_settings(environment="production", **values)


@pytest.fixture(scope="session")
def shared_settings(database_url: str) -> Settings:
    """The settings of every test that does not choose its own; their tests share one
    application per worker (see `app`). Without the background work (outbox relay,
    webhook sender, periodic jobs): living through the whole run, it would act on the
    committed data of the tests that start applications of their own, which start
    theirs. A test on these settings commits nothing (its transaction is rolled back)."""
    return make_settings(database_url=database_url, outbox_relay_enabled=False)


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    """Override it (in a module or a conftest) to give a test settings of its own, and
    with them an application of its own."""
    return shared_settings


@pytest.fixture
async def db_session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test.

    Code under test may commit: with `create_savepoint` its commits release savepoints
    of the outer transaction, so nothing outlives the test.
    """
    engine = create_async_engine(to_async_url(database_url))
    async with engine.connect() as connection:
        transaction = await connection.begin()
        factory = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        async with factory() as session:
            yield session
        await transaction.rollback()
    await engine.dispose()


async def started_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        yield app


@pytest.fixture(scope="session")
async def shared_app(shared_settings: Settings) -> AsyncIterator[FastAPI]:
    """One application per worker for the tests on the shared settings: starting one costs
    about 0.35 s, more than most tests take. `app` gives each test a clean state of it."""
    async for application in started_app(shared_settings):
        yield application


# Per app title: each route's path pattern, method, template and the statuses its
# OpenAPI operation documents. The routes are the same in every marketplace app the tests
# create, so the schema is read once.
_DocumentedRoute = tuple["re.Pattern[str]", str, str, frozenset[int]]
_documented_routes: dict[str, list[_DocumentedRoute]] = {}


def _documented(app: FastAPI) -> list[_DocumentedRoute]:
    if app.title not in _documented_routes:
        routes = [
            (
                re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"),
                method.upper(),
                path,
                frozenset(int(status) for status in operation["responses"] if status.isdigit()),
            )
            for path, methods in app.openapi()["paths"].items()
            for method, operation in methods.items()
        ]
        # A literal segment wins over a parameter (/products/facets, /products/{id}).
        _documented_routes[app.title] = sorted(routes, key=lambda route: route[2].count("{"))
    return _documented_routes[app.title]


class UndocumentedStatus(AssertionError):
    pass


# Set, the statuses are listed in this file instead of failing the test: a whole run then
# finds every missing declaration at once.
UNDOCUMENTED_STATUS_LOG = os.environ.get("UNDOCUMENTED_STATUS_LOG")


def _undocumented(answer: str, statuses: frozenset[int]) -> None:
    if UNDOCUMENTED_STATUS_LOG:
        with open(UNDOCUMENTED_STATUS_LOG, "a", encoding="utf-8") as log:
            log.write(answer + "\n")
        return
    raise UndocumentedStatus(
        f"{answer}, which its OpenAPI operation does not document ({sorted(statuses)}): "
        "declare it with `responses=problems(...)` (core/openapi.py)"
    )


class _StatusesMatchTheSchema:
    """The app, checking that every status it answers is documented in the OpenAPI
    operation of the route that answered (`core/openapi.py`), so generated clients and
    schemathesis agree with the server. Paths outside the schema are not checked."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answered: list[int] = []

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        # A write deletes the cache entries it changed again once committed, from a task
        # of its own (catalog.caching.invalidate); between two requests of a real client
        # it has long landed. Let it land before the test sends its next request, or it
        # may delete what that request cached, and cache tests pass or fail by timing.
        await caching.drain()
        if scope["type"] != "http" or not answered:
            return
        for pattern, method, path, statuses in _documented(self.app):
            if method == scope["method"] and pattern.match(scope["path"]):
                if answered[0] not in statuses:
                    _undocumented(f"{method} {path} answered {answered[0]}", statuses)
                return


@pytest.fixture
def _app_to_use(
    request: pytest.FixtureRequest, settings: Settings, shared_settings: Settings
) -> FastAPI | None:
    """The shared application when the test runs on the shared settings, else None (the
    test gets its own). Synchronous: the session fixture may only be started from outside
    the event loop."""
    if settings is not shared_settings:
        return None
    shared: FastAPI = request.getfixturevalue("shared_app")
    return shared


def _clean_state(application: FastAPI) -> None:
    """What one test may leave in the shared application for the next: cached entries,
    rate-limit counters (all tests come from one address) and dependency overrides. The
    rest of its state is derived from the database and the settings, which tests share."""
    platform: Platform = application.state.platform
    platform.cache = MemoryCache()
    platform.rate_limiter = RateLimiter.in_memory()
    application.dependency_overrides.clear()


@pytest.fixture
async def app(
    settings: Settings, db_session: AsyncSession, _app_to_use: FastAPI | None
) -> AsyncIterator[FastAPI]:
    """The application, its request sessions bound to the test's rolled-back transaction."""

    async def test_session() -> AsyncIterator[AsyncSession]:
        # A savepoint per request gives each request the commit-or-roll-back
        # behaviour of a real transaction, inside the test's outer one. What the last
        # request's transaction remembered (core.db.transaction_memo: the driver
        # connection, begun) is forgotten, as a new request's session has nothing:
        # else a request that runs only driver statements would begin no savepoint,
        # and its statements would escape its rollback.
        db_session.info.pop(TRANSACTION_MEMO_KEY, None)
        savepoint = await db_session.begin_nested()
        try:
            yield db_session
            await savepoint.commit()
        except BaseException:
            await savepoint.rollback()
            raise

    if _app_to_use is None:
        async for application in started_app(settings):
            application.dependency_overrides[get_session] = test_session
            application.dependency_overrides[get_read_session] = test_session
            yield application
        return

    assert settings.redis_url is None, "the shared settings use the in-process cache"
    before = settings.model_dump()
    _clean_state(_app_to_use)
    _app_to_use.dependency_overrides[get_session] = test_session
    _app_to_use.dependency_overrides[get_read_session] = test_session
    yield _app_to_use
    _app_to_use.dependency_overrides.clear()
    # A test that changes the shared settings changes them for every later test.
    assert settings.model_dump() == before, "give the test its own `settings` fixture"


def client_for(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(
            app=_StatusesMatchTheSchema(app) if isinstance(app, FastAPI) else app
        ),
        base_url="http://testserver",
        **kwargs,
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http_client:
        yield http_client
