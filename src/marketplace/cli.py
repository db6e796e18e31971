"""The `marketplace` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from pydantic import ValidationError

from marketplace import __version__
from marketplace.core.broker import EVENTS_EXCHANGE, Topology
from marketplace.core.db import Database
from marketplace.core.logging import configure_logging, get_logger
from marketplace.core.migrations import upgrade_to_head
from marketplace.core.preflight import configuration_problems
from marketplace.demo_catalog import DEFAULT_PRODUCTS_PER_SUPPLIER
from marketplace.identity.contacts import Channel, normalize_contact
from marketplace.settings import Settings
from marketplace.staff import service as staff

if TYPE_CHECKING:
    from marketplace.core.embedded_postgres import EmbeddedPostgres

# The commands that are not `serve` import what only they need (the demo data and its
# pictures, Pillow, backups, the embedded PostgreSQL) when they run: with one worker
# uvicorn serves from this very process, and those imports cost it 3 MB of RSS.

app = typer.Typer(
    help="B2B marketplace: run the service and manage its data.", no_args_is_help=True
)
logger = get_logger("marketplace.cli")


def load_settings() -> Settings:
    """Read settings and run the start-up checks on them (the same for every command,
    `check-config` included), or stop with a readable list of what is wrong."""
    try:
        settings = Settings()
    except ValidationError as error:
        typer.echo("Invalid configuration:", err=True)
        for problem in error.errors():
            location = ".".join(str(part).upper() for part in problem["loc"]) or "settings"
            message = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"  {location}: {message}", err=True)
        raise typer.Exit(code=2) from error
    problems = configuration_problems(settings)
    if problems:
        typer.echo("Invalid configuration:", err=True)
        for found in problems:
            typer.echo(f"  {found}", err=True)
        raise typer.Exit(code=2)
    return settings


def _database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    from marketplace.core.embedded_postgres import EmbeddedPostgres

    embedded = EmbeddedPostgres(
        settings.embedded_postgres_data_dir, settings.embedded_postgres_database
    )
    return embedded.start(), embedded


def _migrate_in_a_child_process(url: str) -> None:
    """`marketplace migrate` in a process of its own: with one worker uvicorn serves from
    this very process, which would otherwise hold Alembic and every migration module it
    ran (about 11 MB of RSS) for as long as it serves."""
    completed = subprocess.run(
        [sys.executable, "-m", "marketplace.cli", "migrate"],
        env={**os.environ, "DATABASE_URL": url},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if completed.returncode != 0:
        raise typer.Exit(code=completed.returncode)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    migrate: Annotated[bool, typer.Option(help="Migrate the database to head first.")] = True,
) -> None:
    """Run the HTTP API (starts the embedded PostgreSQL when DATABASE_URL is unset)."""
    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        if migrate:
            _migrate_in_a_child_process(url)
            logger.info("database.migrated")
        # Worker processes build their own settings from the environment: hand them the
        # embedded server's address so that they use it instead of starting another.
        os.environ["DATABASE_URL"] = url
        # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, under whatever
        # handler was there before it; make that an exit so the `finally` below runs.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run(
            "marketplace.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=None if reload else workers,
            reload=reload,
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=30,
            # uvloop accepting every waiting connection at once (core/serving.py): a
            # burst of connections is otherwise accepted one per turn of the loop.
            loop="marketplace.core.serving:new_event_loop",
        )
    finally:
        if embedded is not None:
            embedded.stop()


@app.command()
def migrate() -> None:
    """Migrate the database schema to the latest revision."""
    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        upgrade_to_head(url)
        typer.echo("Database is at the latest migration.")
    finally:
        if embedded is not None:
            embedded.stop()


async def _create_staff(url: str, channel: Channel, destination: str) -> str:
    database = Database(url, pool_size=1, max_overflow=0, application_name="marketplace-cli")
    user_id = ""
    try:
        # Run the loop to its end: the session commits when the generator resumes.
        async for session in database.session():
            user_id = str((await staff.create_staff(session, channel, destination)).id)
    finally:
        await database.dispose()
    return user_id


@app.command("create-staff")
def create_staff(
    email_or_phone: Annotated[
        str, typer.Argument(help="E-mail address or phone number in E.164 form (+49...).")
    ],
) -> None:
    """Make a user platform staff, creating the user if needed."""
    try:
        channel, destination = normalize_contact(email_or_phone)
    except ValueError as error:
        typer.echo(f"Invalid e-mail address or phone number: {error}", err=True)
        raise typer.Exit(code=2) from error
    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        user_id = asyncio.run(_create_staff(url, channel, destination))
    finally:
        if embedded is not None:
            embedded.stop()
    typer.echo(f"{destination} is staff (user {user_id}).")


@app.command()
def worker(
    health_host: Annotated[
        str, typer.Option(help="Interface of /health and /metrics.")
    ] = "127.0.0.1",
    health_port: Annotated[int, typer.Option(help="Port of /health and /metrics.")] = 8001,
) -> None:
    """Run the event consumers from RabbitMQ (needs AMQP_URL) and an outbox relay."""
    settings = load_settings()
    configure_logging(settings)
    if settings.amqp_url is None:
        typer.echo(
            "AMQP_URL is not set: without a broker, events are delivered in-process.", err=True
        )
        raise typer.Exit(code=2)
    url, embedded = _database_url(settings)
    try:
        asyncio.run(_run_worker(settings, url, health_host, health_port))
    finally:
        if embedded is not None:
            embedded.stop()


async def _run_worker(settings: Settings, url: str, health_host: str, health_port: int) -> None:
    from pydantic import SecretStr

    from marketplace.consumers import build_registry
    from marketplace.core.platform import Platform
    from marketplace.worker import run_worker

    platform = await Platform.start(settings.model_copy(update={"database_url": SecretStr(url)}))
    try:
        await run_worker(platform, build_registry(), health_host, health_port)
    finally:
        await platform.close()


@app.command("broker-setup")
def broker_setup() -> None:
    """Declare the RabbitMQ exchange, queues and bindings of the events (idempotent).

    The API's publisher and the worker declare them as well; run this at deploy so that
    the queues exist before either starts."""
    settings = load_settings()
    configure_logging(settings)
    if settings.amqp_url is None:
        typer.echo("AMQP_URL is not set: there is no broker to set up.", err=True)
        raise typer.Exit(code=2)
    queues = asyncio.run(_declare_topology(settings.amqp_url.get_secret_value()))
    typer.echo(f"Declared exchange {EVENTS_EXCHANGE} and queues: {', '.join(queues)}.")


async def _declare_topology(url: str) -> list[str]:
    import aio_pika

    from marketplace.consumers import build_registry

    topology = Topology(tuple(build_registry().all()))
    connection = await aio_pika.connect(url, timeout=30)
    try:
        channel = await connection.channel()
        _exchange, queues = await topology.declare(channel)
    finally:
        await connection.close()
    return [queue.name for queue in queues.values()]


@app.command()
def demo(
    products_per_supplier: Annotated[
        int,
        typer.Option(
            min=1,
            max=100_000,
            envvar="DEMO_PRODUCTS_PER_SUPPLIER",
            help="Products generated for each supplier.",
        ),
    ] = DEFAULT_PRODUCTS_PER_SUPPLIER,
) -> None:
    """Load the demonstration data set (idempotent: running it again adds nothing).

    Migrates the database first; uses the same database as `serve` (the embedded
    PostgreSQL when DATABASE_URL is unset)."""
    from marketplace.demo import demo_accounts
    from marketplace.demo import load as load_demo

    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        upgrade_to_head(url)
        started = time.monotonic()
        summary = asyncio.run(load_demo(settings, url, products_per_supplier))
    finally:
        if embedded is not None:
            embedded.stop()
    typer.echo(
        f"Demo data ready in {time.monotonic() - started:.1f} s: {summary.suppliers} verified "
        f"suppliers, {summary.buyers} buyer companies, {summary.products_added} products "
        f"added ({summary.products_kept} already there), {summary.images_added} images."
    )
    typer.echo(demo_accounts(summary, settings))


@app.command()
def backup(
    directory: Annotated[
        Path, typer.Argument(help="Folder that holds the backups (created if missing).")
    ],
    keep: Annotated[
        int, typer.Option(min=1, help="Complete backups to keep; older ones are removed.")
    ] = 7,
) -> None:
    """Back up the database (pg_dump, custom format) and the uploaded files, with a
    manifest, into a new timestamped folder of DIRECTORY; keep the newest KEEP.

    The row counts in the manifest come from the snapshot the dump is taken from, so a
    backup of a running service is consistent."""
    from marketplace.core import backup as backups

    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        result = asyncio.run(
            backups.create_backup(
                url,
                settings.storage_dir,
                directory,
                keep=keep,
                bin_dir=settings.postgres_bin_dir,
            )
        )
    except backups.BackupError as error:
        typer.echo(f"Backup failed: {error}", err=True)
        raise typer.Exit(code=1) from error
    finally:
        if embedded is not None:
            embedded.stop()
    typer.echo(
        f"Backup written to {result.path}: {result.tables} tables, {result.rows} rows, "
        f"{result.files} files."
    )
    for removed in result.removed:
        typer.echo(f"Removed old backup {removed}.")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A backup folder written by `backup`.")],
    force: Annotated[
        bool,
        typer.Option(help="Replace whatever the database and STORAGE_DIR hold (dropped first)."),
    ] = False,
) -> None:
    """Restore a backup into an empty database and STORAGE_DIR, then verify both
    against its manifest (migration head, rows per table, every file's checksum).

    A damaged backup is refused before anything is changed; a target that holds data is
    refused unless --force."""
    from marketplace.core import backup as backups

    settings = load_settings()
    configure_logging(settings)
    url, embedded = _database_url(settings)
    try:
        result = asyncio.run(
            backups.restore_backup(
                path,
                url,
                settings.storage_dir,
                force=force,
                bin_dir=settings.postgres_bin_dir,
            )
        )
    except backups.VerificationFailed as error:
        typer.echo("Restore failed verification against the backup's manifest:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(code=1) from error
    except backups.BackupError as error:
        typer.echo(f"Restore refused: {error}", err=True)
        raise typer.Exit(code=1) from error
    finally:
        if embedded is not None:
            embedded.stop()
    typer.echo(
        f"Restored {path}: {result.tables} tables, {result.rows} rows and {result.files} "
        f"files, all matching the manifest (migration head {', '.join(result.migration_heads)})."
    )


@app.command()
def version() -> None:
    """Print the release: the image tag (`MARKETPLACE_VERSION` in compose.yaml) it ships as."""
    typer.echo(__version__)


@app.command("check-config")
def check_config() -> None:
    """Validate the settings as `serve` does before it starts, and print the effective
    configuration, secrets masked."""
    settings = load_settings()
    typer.echo(json.dumps(settings.masked(), indent=2, sort_keys=True, default=str))


if __name__ == "__main__":
    app()
