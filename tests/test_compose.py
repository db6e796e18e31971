"""`compose.yaml` and the Dockerfile against the code: every command is one the CLI has,
with options it takes; every variable is a setting, and together they are a valid
production configuration; every place the service writes is on a volume; the worker
runs by default; the image installs exactly the locked versions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from typer.testing import CliRunner

from marketplace import __version__
from marketplace.cli import app as cli
from marketplace.core.health import Readiness
from marketplace.core.migrations import HISTORY_TABLE, known_revisions
from marketplace.settings import Environment, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# Services that run the project's image (built from the Dockerfile).
OURS = {name: service for name, service in SERVICES.items() if "build" in service}
SETTINGS = {name.upper() for name in Settings.model_fields}
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")
# What a deploy must set: compose refuses to start without them.
REQUIRED = {
    "SECRET_KEY": "a-production-secret-key-of-at-least-32-characters",
    "SMTP_HOST": "mail.example.com",
}


def _interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` and `${NAME:?message}` as a deploy with only the
    required variables set (REQUIRED) sees them."""

    def substitute(match: re.Match[str]) -> str:
        if match["kind"] == "-":
            return match["rest"]
        assert match["name"] in REQUIRED, f"unexpected required variable {match[0]}"
        return REQUIRED[match["name"]]

    return VARIABLE.sub(substitute, value)


def _settings_of(service: dict[str, Any]) -> Settings:
    environment = {key: _interpolate(str(value)) for key, value in service["environment"].items()}
    return Settings(_env_file=None, **{key.lower(): value for key, value in environment.items()})  # type: ignore[arg-type]


def _command(service: dict[str, Any]) -> Any:
    program, name, *arguments = service["command"]
    assert program == "marketplace"
    command = typer.main.get_command(cli).commands.get(name)  # type: ignore[attr-defined]
    assert command is not None, f"marketplace has no command {name!r}"
    # Parses the options exactly as the CLI would (an unknown one raises), runs nothing.
    command.make_context(name, list(arguments))
    return command


def _option(service: dict[str, Any], name: str) -> str | None:
    arguments = service["command"]
    return arguments[arguments.index(name) + 1] if name in arguments else None


def test_the_project_image_runs_migrate_broker_setup_api_and_worker() -> None:
    commands = {name: service["command"][1] for name, service in OURS.items()}
    assert commands == {
        "migrate": "migrate",
        "broker-setup": "broker-setup",
        "app": "serve",
        "worker": "worker",
    }


@pytest.mark.parametrize("name", sorted(OURS))
def test_command_is_one_the_cli_has_with_options_it_takes(name: str) -> None:
    _command(OURS[name])


@pytest.mark.parametrize("name", sorted(OURS))
def test_environment_is_settings_only_and_a_valid_production_configuration(name: str) -> None:
    service = OURS[name]
    unknown = set(service["environment"]) - SETTINGS
    assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    settings = _settings_of(service)
    assert settings.environment is Environment.PRODUCTION
    # Every infrastructure the production shape promises is external, not embedded.
    assert settings.database_url is not None
    assert settings.redis_url is not None
    assert settings.amqp_url is not None
    hosts = {
        urlsplit(url.get_secret_value()).hostname
        for url in (settings.database_url, settings.redis_url, settings.amqp_url)
    }
    assert hosts <= set(SERVICES), f"{name} points at hosts that are no service: {hosts}"


def test_every_service_runs_by_default() -> None:
    assert [name for name, service in SERVICES.items() if "profiles" in service] == []


def test_what_the_service_writes_is_on_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    used: set[str] = set()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert source in declared, f"{name}: volume {source} is not declared"
            used.add(source)
            assert target.startswith("/")
    assert used == declared
    for name in ("app", "worker"):
        storage = str(_settings_of(OURS[name]).storage_dir)
        targets = [volume.split(":")[1] for volume in OURS[name]["volumes"]]
        assert storage in targets, f"{name} stores uploads in {storage}, not on a volume"
    redis = SERVICES["redis"]
    assert redis["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert [volume.split(":")[1] for volume in redis["volumes"]] == ["/data"]


def test_api_and_worker_start_after_migration_and_broker_setup() -> None:
    for name in ("app", "worker"):
        depends = OURS[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["broker-setup"]["condition"] == "service_completed_successfully"
        for dependency in depends:
            assert dependency in SERVICES
    for name in ("migrate", "broker-setup"):
        assert OURS[name]["restart"] == "no"
    # The API's replicas never migrate concurrently: the one-shot step did.
    assert "--no-migrate" in OURS["app"]["command"]


def test_health_checks_probe_the_ports_the_processes_listen_on() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_check = re.search(r"HEALTHCHECK .*?127\.0\.0\.1:(\d+)/health", dockerfile, re.S)
    assert image_check is not None
    assert _option(OURS["app"], "--port") == image_check[1]
    assert OURS["app"]["ports"] == [f"{image_check[1]}:{image_check[1]}"]
    worker_check = " ".join(OURS["worker"]["healthcheck"]["test"])
    worker_port = _option(OURS["worker"], "--health-port")
    assert f"127.0.0.1:{worker_port}/health" in worker_check
    assert _option(OURS["worker"], "--health-host") in {"127.0.0.1", "0.0.0.0"}


def test_image_installs_the_locked_versions_then_the_project_alone() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    install = re.search(
        r"pip install[^\n]*--require-hashes[^\n]*-r requirements/runtime\.lock", dockerfile
    )
    assert install is not None, "the image must install requirements/runtime.lock with hashes"
    assert re.search(r"pip install[^\n]*--no-deps[^\n]*\.whl", dockerfile), dockerfile
    assert "requirements/build.lock" in dockerfile  # the wheel's build backend, hashed too
    assert "mkdir -p /app/var/storage" in dockerfile  # the uploads volume's owner


TAG = re.compile(r"b2b-marketplace:(?P<tag>.+)")


def test_images_are_tagged_by_the_release_they_hold() -> None:
    for name, service in OURS.items():
        image = TAG.fullmatch(service["image"])
        assert image is not None, f"{name} runs {service['image']}"
        tag = VARIABLE.fullmatch(image["tag"])
        # Required, never defaulted: a deploy names the release it runs.
        assert tag is not None
        assert (tag["name"], tag["kind"]) == ("MARKETPLACE_VERSION", "?")
        assert service["build"]["args"] == {"MARKETPLACE_VERSION": image["tag"]}, name
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    assert len(stages) == 2
    builder, runtime = stages
    # The build fails unless the tag is the version `marketplace version` prints.
    assert re.search(
        r"ARG MARKETPLACE_VERSION\nRUN test \"\$\(/opt/venv/bin/marketplace version\)\""
        r" = \"\$\{MARKETPLACE_VERSION\}\"",
        builder,
    ), builder
    assert "ARG MARKETPLACE_VERSION" in runtime
    assert 'org.opencontainers.image.version="${MARKETPLACE_VERSION}"' in runtime
    printed = CliRunner().invoke(cli, ["version"])
    assert printed.exit_code == 0
    assert printed.output == f"{__version__}\n"


def _section(document: str, title: str) -> str:
    start = document.index(f"\n## {title}\n")
    end = document.find("\n## ", start + 1)
    return document[start : end if end != -1 else None]


def test_the_release_docs_name_real_commands_services_settings_and_files() -> None:
    docs = _section((ROOT / "docs" / "operations.md").read_text(), "Releases and rollback")
    commands = typer.main.get_command(cli).commands  # type: ignore[attr-defined]
    named = set(re.findall(r"\bmarketplace (\w[\w-]*)", docs))
    assert named >= {"version", "migrate", "serve"}
    assert named <= set(commands), f"no such commands: {named - set(commands)}"
    compose_runs = re.findall(r"docker compose ([^`\n]+)", docs)
    assert len(compose_runs) >= 4
    for run in compose_runs:
        words = [word for word in run.split() if not word.startswith("-")]
        services = words[1:]  # after the compose command (build, run, up)
        assert set(services) <= set(OURS), f"docker compose {run}: unknown service"
    assert {"migrate", "app", "worker"} <= {word for run in compose_runs for word in run.split()}
    variables = set(re.findall(r"\b([A-Z][A-Z_]{3,})=", docs))
    assert variables == {"MARKETPLACE_VERSION", "DATABASE_URL"}
    assert "DATABASE_URL" in SETTINGS
    for path in re.findall(
        r"`((?:src|tests)/[\w/.]+\.py|compose\.yaml|Dockerfile|alembic\.ini)", docs
    ):
        assert (ROOT / path.split("::")[0]).exists(), path
    # The readiness table lists every value `migrations` can take, and no other.
    listed = set(re.findall(r"^\| [^|]+ \| `(\w+)` \| (?:200|503)", docs, flags=re.M))
    field = Readiness.model_fields["migrations"].annotation
    assert listed == {value for part in get_args(field) for value in get_args(part)}
    assert f"`{HISTORY_TABLE}`" in docs
    assert {revision for revision in known_revisions() if revision in docs} == {
        "0820_migration_history"
    }
    assert "database.ahead_of_code" in (ROOT / "src/marketplace/core/migrations.py").read_text()
