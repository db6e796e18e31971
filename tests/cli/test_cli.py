from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from marketplace.cli import app
from tests.conftest import TEST_SECRET_KEY

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "AMQP_URL",
        "SECRET_KEY",
        "ENVIRONMENT",
        "SENTRY_DSN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_check_config_prints_masked_effective_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret-pw@db:5432/marketplace")
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)
    assert config["ENVIRONMENT"] == "production"
    assert config["DATABASE_URL"] == "postgresql://***@db:5432/marketplace"
    assert config["SECRET_KEY"] == "***"
    assert "s3cret-pw" not in result.output
    assert TEST_SECRET_KEY not in result.output


def test_check_config_reports_invalid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "too-short")
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert "SECRET_KEY must be set" in result.output


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_service_refuses_to_start_in_production_with_a_short_key(
    monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 31)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/never-reached")
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    assert "at least 32 characters" in result.output


def test_migrate_brings_a_database_to_head(postgres_server_url: str) -> None:
    import asyncio

    import asyncpg

    from marketplace.core.migrations import head_revisions
    from tests.conftest import _database_url_on

    name = "mp_test_cli_migrate"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(postgres_server_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def revisions(url: str) -> set[str]:
        connection = await asyncpg.connect(url)
        try:
            return {
                row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")
            }
        finally:
            await connection.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _database_url_on(postgres_server_url, name)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DATABASE_URL", url)
            result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
        assert asyncio.run(revisions(url)) == set(head_revisions())
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
