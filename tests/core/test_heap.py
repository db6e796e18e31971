"""The start-up heap is frozen out of the cyclic collector, outside tests only."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager

from marketplace.app import create_app
from marketplace.core.heap import GC_THRESHOLDS, freeze_startup_heap
from tests.conftest import _database_url_on, make_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_freezing_excludes_live_objects_and_still_collects_new_cycles() -> None:
    frozen = freeze_startup_heap()

    assert frozen == gc.get_freeze_count()
    assert frozen > 10_000  # the interpreter, pytest and the app's modules
    assert gc.get_threshold() == GC_THRESHOLDS

    cycle: list[Any] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # garbage made after the freeze is still found


@pytest.mark.usefixtures("restored_collector")
async def test_a_served_app_freezes_its_heap_at_start_up(database_url: str) -> None:
    app = create_app(make_settings(database_url=database_url, environment="development"))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == GC_THRESHOLDS


@pytest.mark.usefixtures("restored_collector")
async def test_a_test_app_leaves_the_collector_alone(database_url: str) -> None:
    thresholds = gc.get_threshold()
    app = create_app(make_settings(database_url=database_url))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds


def test_an_api_process_loads_no_pdf_or_error_tracking_library_it_does_not_use() -> None:
    """fpdf2 (~30 MB) is loaded by the first invoice drawn and sentry-sdk (~9 MB) only
    with a SENTRY_DSN: an API worker that does neither stays that much smaller."""
    program = (
        "import sys\n"
        "from marketplace.app import create_app\n"
        "from tests.conftest import make_settings\n"
        "create_app(make_settings())\n"
        "print(sorted({'fpdf', 'fontTools', 'sentry_sdk'} & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]"


def test_an_api_process_migrates_and_checks_readiness_without_loading_alembic(
    postgres_server_url: str,
) -> None:
    """`serve` migrates in a child process and readiness reads the revisions from the
    scripts' text: the serving process (with one worker, the CLI's own) never holds
    Alembic, Mako or the migration modules (~11 MB), nor the demo's drawing modules
    (~3 MB), yet its database is migrated and its readiness is "current"."""
    name = f"mp_test_heap_{uuid.uuid4().hex[:6]}"
    url = _database_url_on(postgres_server_url, name)
    program = (
        "import asyncio, sys\n"
        "from marketplace import cli\n"
        "from marketplace.app import create_app\n"
        "from marketplace.core.db import create_engine\n"
        "from marketplace.core.migrations import schema_state\n"
        "from tests.conftest import make_settings\n"
        "url = sys.argv[1]\n"
        "create_app(make_settings(database_url=url))\n"
        "cli._migrate_in_a_child_process(url)\n"
        "async def state():\n"
        "    engine = create_engine(url)\n"
        "    async with engine.connect() as connection:\n"
        "        found = await schema_state(connection)\n"
        "    await engine.dispose()\n"
        "    return found\n"
        "print(asyncio.run(state()))\n"
        "print(sorted({'alembic', 'mako', 'PIL.ImageDraw', 'PIL.ImageFont'} & set(sys.modules)))\n"
    )

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(postgres_server_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        completed = subprocess.run(
            [sys.executable, "-c", program, url],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    state, loaded = completed.stdout.strip().splitlines()[-2:]
    assert state == "current"
    assert loaded == "[]"


def test_a_serving_process_loads_no_library_only_other_commands_use() -> None:
    """The CLI process that serves (one worker) imports neither Rich nor Pygments
    (hidden from structlog and httpx, which only use them if present: 3.4 MB), nor
    Pillow (imported by the first image upload: 2.5 MB), nor the demo data, backups or
    what they pull in (3.3 MB). Rich is still importable afterwards: typer needs it for
    a command's help. (Not through tests.conftest: the tests import httpx first.)"""
    program = (
        "import sys\n"
        "from marketplace import cli, worker\n"
        "from marketplace.app import create_app\n"
        "from marketplace.settings import Settings\n"
        "create_app(Settings(database_url='postgresql://unused@127.0.0.1/unused'))\n"
        "print(sorted({'rich', 'pygments', 'PIL', 'marketplace.demo', 'marketplace.core.backup',"
        " 'marketplace.demo_pictures'} & set(sys.modules)))\n"
        "import rich.console\n"
        "print(rich.console.Console.__name__)\n"
    )
    loaded, console = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert loaded == "[]"
    assert console == "Console"
