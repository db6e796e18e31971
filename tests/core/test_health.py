from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from marketplace.core.migrations import (
    HISTORY_TABLE,
    MIGRATIONS_DIR,
    alembic_config,
    head_revisions,
    upgrade_to_head,
)
from marketplace.settings import Settings
from tests.conftest import (
    AMQP_URL,
    REDIS_URL,
    _database_url_on,
    client_for,
    make_settings,
    migrated_scratch_database,
    require_service,
    started_app,
)

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/nowhere"


def _url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


async def get(settings: Settings, path: str) -> httpx.Response:
    async for app in started_app(settings):
        async with client_for(app) as client:
            return await client.get(path)
    raise AssertionError("app did not start")


async def test_all_components_up_with_external_services(settings: Settings) -> None:
    require_service("Redis", REDIS_URL, 6379)
    require_service("RabbitMQ", AMQP_URL, 5672)
    full = make_settings(database_url=_url(settings), redis_url=REDIS_URL, amqp_url=AMQP_URL)
    response = await get(full, "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["uptime_seconds"] >= 0
    for name in ("database", "cache", "broker"):
        component = body["components"][name]
        assert component["status"] == "ok", name
        assert component["mode"] == "external", name
        assert component["latency_ms"] >= 0


async def test_without_redis_and_broker_the_fallbacks_are_embedded(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["mode"] == "external"
    assert body["components"]["cache"]["mode"] == "embedded"
    assert body["components"]["broker"]["mode"] == "embedded"


async def test_redis_down_is_degraded_but_serving(settings: Settings) -> None:
    broken_cache = make_settings(
        database_url=_url(settings),
        redis_url="redis://127.0.0.1:1/0",
        health_check_timeout_seconds=1.0,
    )
    response = await get(broken_cache, "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["cache"]["status"] == "down"
    assert body["components"]["cache"]["mode"] == "external"
    assert body["components"]["database"]["status"] == "ok"


async def test_broker_down_is_degraded_but_serving(settings: Settings) -> None:
    broken_broker = make_settings(
        database_url=_url(settings),
        amqp_url="amqp://guest:guest@127.0.0.1:1/",
        health_check_timeout_seconds=1.0,
    )
    response = await get(broken_broker, "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["broker"]["status"] == "down"


async def test_database_down_is_503() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE, health_check_timeout_seconds=1.0)
    response = await get(broken, "/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["components"]["database"]["status"] == "down"
    assert "127.0.0.1:1" not in response.text


async def test_liveness_does_not_need_the_database() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE)
    response = await get(broken, "/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "current"}


async def test_not_ready_when_database_is_down() -> None:
    broken = make_settings(database_url=UNREACHABLE_DATABASE, health_check_timeout_seconds=1.0)
    response = await get(broken, "/health/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


async def test_not_ready_when_migrations_are_pending(postgres_server_url: str) -> None:
    name = "mp_test_unmigrated"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        unmigrated = make_settings(database_url=_database_url_on(postgres_server_url, name))
        response = await get(unmigrated, "/health/ready")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "pending"}


@asynccontextmanager
async def scratch_database(server_url: str, purpose: str) -> AsyncIterator[str]:
    """An empty database of this test's own, dropped afterwards."""
    name = f"mp_test_{purpose}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _database_url_on(server_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fetch(url: str, query: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        return [row[0] for row in await connection.fetch(query)]
    finally:
        await connection.close()


(HEAD,) = head_revisions()
FUTURE = "9999_next_release"

# What the next release's first migration could be: an expand step on top of today's head.
FUTURE_MIGRATION = f'''
import sqlalchemy as sa
from alembic import op

revision = "{FUTURE}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("next_release_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("products", "next_release_note")
'''


def migrate_as_the_next_release(url: str, workdir: Path) -> None:
    """Migrate with a copy of today's migrations plus one more, as the next release's
    `marketplace migrate` would (its env.py records the revision as ours does)."""
    migrations = workdir / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "29991231_2359_next_release.py").write_text(FUTURE_MIGRATION)
    config = alembic_config(url)
    config.set_main_option("script_location", str(migrations))
    command.upgrade(config, "head")


async def test_not_ready_when_the_database_is_one_migration_behind(
    postgres_server_url: str,
) -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    previous = script.get_revision(HEAD).down_revision
    assert isinstance(previous, str)
    async with scratch_database(postgres_server_url, "behind") as url:
        await asyncio.to_thread(command.upgrade, alembic_config(url), previous)
        response = await get(make_settings(database_url=url), "/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "pending"}


async def test_ready_when_a_newer_release_migrated_the_database(
    postgres_server_url: str, tmp_path: Path
) -> None:
    """A rolling deploy: the next release migrated (expand), this code keeps serving;
    and this code's `migrate` (a rollback's start-up) leaves the newer schema alone."""
    async with scratch_database(postgres_server_url, "ahead") as url:
        await asyncio.to_thread(migrate_as_the_next_release, url, tmp_path)
        response = await get(make_settings(database_url=url), "/health/ready")
        await asyncio.to_thread(upgrade_to_head, url)
        version = await fetch(url, "SELECT version_num FROM alembic_version")
        history = await fetch(url, f"SELECT revision FROM {HISTORY_TABLE} ORDER BY revision")
        releases = await fetch(
            url,
            f"SELECT coalesce(release, 'before history') FROM {HISTORY_TABLE}"
            f" WHERE revision IN ('{HEAD}', '{FUTURE}') ORDER BY revision",
        )
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "ahead"}
    assert version == [FUTURE]
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    assert history == sorted([FUTURE, *(revision.revision for revision in script.walk_revisions())])
    assert releases == ["0.1.0", "0.1.0"]


async def test_not_ready_on_a_revision_this_code_never_led_to(
    postgres_server_url: str, migrated_template: str
) -> None:
    """An unknown revision whose history lacks this code's head (another branch, another
    application) is foreign: not ready, and `migrate` refuses it rather than skip it."""
    async with migrated_scratch_database(postgres_server_url, migrated_template, "foreign") as url:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("UPDATE alembic_version SET version_num = 'elsewhere_0001'")
            await connection.execute(f"DELETE FROM {HISTORY_TABLE} WHERE revision = '{HEAD}'")
        finally:
            await connection.close()
        response = await get(make_settings(database_url=url), "/health/ready")
        with pytest.raises(CommandError, match="elsewhere_0001"):
            await asyncio.to_thread(upgrade_to_head, url)
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "foreign"}


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
async def test_health_endpoints_are_documented(client: httpx.AsyncClient, path: str) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    assert path in schema["paths"]
