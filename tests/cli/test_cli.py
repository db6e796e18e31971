from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from marketplace.app import create_app
from marketplace.cli import app
from marketplace.core.preflight import InvalidConfiguration
from marketplace.settings import Settings
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
        "DEBUG",
        "EMAIL_TRANSPORT",
        "SMS_TRANSPORT",
        "METRICS_TOKEN",
        "JWT_KEYS",
        "TRUSTED_PROXIES",
        "RATE_LIMIT_ANONYMOUS",
        "EMBEDDED_POSTGRES_DATABASE",
        "LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_check_config_prints_masked_effective_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret-pw@db:5432/marketplace")
    monkeypatch.setenv("EMAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("SMS_TRANSPORT", "disabled")
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


UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/never-reached"
PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": TEST_SECRET_KEY,
    "EMAIL_TRANSPORT": "smtp",
    "SMS_TRANSPORT": "disabled",
}

# Each: a configuration `serve` cannot start with (or cannot answer a request with),
# and what `check-config` must say about it.
REFUSED_CONFIGURATIONS = [
    pytest.param({"SENTRY_DSN": "sentry.example/1"}, "SENTRY_DSN", id="sentry-dsn"),
    pytest.param({"JWT_KEYS": "2026:too-short"}, "JWT_KEYS", id="jwt-keys"),
    pytest.param({"TRUSTED_PROXIES": "10.0.0.300"}, "TRUSTED_PROXIES", id="trusted-proxies"),
    pytest.param({"DATABASE_URL": "mysql://db/marketplace"}, "DATABASE_URL", id="database-url"),
    pytest.param(
        {"DATABASE_URL": "postgresql://db/marketplace?sslmode=always"},
        "DATABASE_URL: sslmode must be one of disable, allow, prefer, require",
        id="sslmode",
    ),
    pytest.param({"REDIS_URL": "http://cache:6379/0"}, "REDIS_URL", id="redis-url"),
    pytest.param({"RATE_LIMIT_ANONYMOUS": "lots"}, "RATE_LIMIT_ANONYMOUS", id="rate-limit"),
    pytest.param(
        {"DATABASE_URL": None, "EMBEDDED_POSTGRES_DATABASE": "Market-Place"},
        "EMBEDDED_POSTGRES_DATABASE",
        id="embedded-database-name",
    ),
    pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", id="log-level"),
    pytest.param({"METRICS_TOKEN": "short"}, "METRICS_TOKEN", id="metrics-token"),
    pytest.param(
        {**PRODUCTION, "EMAIL_TRANSPORT": "console"},
        "EMAIL_TRANSPORT=console is refused",
        id="production-console-email",
    ),
    pytest.param(
        {**PRODUCTION, "EMAIL_TRANSPORT": "file"},
        "EMAIL_TRANSPORT=file is refused",
        id="production-file-email",
    ),
    pytest.param(
        {**PRODUCTION, "SMS_TRANSPORT": "console"},
        "SMS_TRANSPORT=console is refused",
        id="production-console-sms",
    ),
    pytest.param(
        {**PRODUCTION, "SMS_TRANSPORT": "file"},
        "SMS_TRANSPORT=file is refused",
        id="production-file-sms",
    ),
    pytest.param({**PRODUCTION, "DEBUG": "true"}, "DEBUG must be false", id="production-debug"),
    pytest.param(
        {**PRODUCTION, "TRUSTED_PROXIES": "0.0.0.0/0"},
        "TRUSTED_PROXIES=0.0.0.0/0 is refused",
        id="production-trusted-proxies-everyone",
    ),
]


def _configure(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str | None]) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE)
    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("environment", "named"), REFUSED_CONFIGURATIONS)
def test_check_config_refuses_what_serve_cannot_start_with(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str | None], named: str
) -> None:
    _configure(monkeypatch, environment)
    checked = runner.invoke(app, ["check-config"])
    assert checked.exit_code == 2, checked.output
    assert "Invalid configuration:" in checked.stderr
    assert named in checked.stderr
    assert checked.stdout == ""  # no configuration printed as if it were valid

    # `serve` stops at the same check, with the same words, before starting anything.
    served = runner.invoke(app, ["serve", "--no-migrate"])
    assert served.exit_code == 2, served.output
    assert served.stderr == checked.stderr

    # And the application factory, which uvicorn's workers call, refuses it too.
    with pytest.raises((ValidationError, InvalidConfiguration)):
        create_app(Settings())


def test_check_config_lists_every_problem_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(
        monkeypatch,
        {"JWT_KEYS": "bad", "REDIS_URL": "http://cache", "RATE_LIMIT_USER": "many"},
    )
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert [line.split(":")[0].strip() for line in result.stderr.splitlines()[1:]] == [
        "JWT_KEYS",
        "REDIS_URL",
        "RATE_LIMIT_USER",
    ]


def test_check_config_accepts_libpq_tls_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(
        monkeypatch,
        {
            **PRODUCTION,
            "DATABASE_URL": "postgresql://app:pw@db.example.com:5432/marketplace"
            "?sslmode=verify-full&sslrootcert=/etc/ssl/certs/db-ca.pem",
            "METRICS_TOKEN": "m" * 40,
        },
    )
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["METRICS_TOKEN"] == "***"


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
