"""Point-in-time recovery as docs/operations.md describes it, on a throwaway cluster:
WAL archived with `archive_command`, a base backup, two companies written through the
app's models with a moment between them, and a recovery to that moment that has the
first and not the second."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from marketplace.core.db import to_async_url
from marketplace.core.migrations import upgrade_to_head
from tests.cli.test_embedded_postgres import free_port
from tests.conftest import IN_CI
from tests.factories import make_company


def postgres_bin_dir() -> Path:
    """Debian's server binaries (the `postgresql` package CI installs), newest first."""
    found = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda path: int(path.parent.name),
    )
    if not found:
        message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found[-1]


def run(run_as: list[str], *command: str) -> str:
    return subprocess.run(
        [*run_as, *command], check=True, capture_output=True, text=True, timeout=120
    ).stdout


class Cluster:
    """A PostgreSQL server in a folder of its own, on a free loopback port. As root the
    server runs as the `postgres` user: PostgreSQL refuses to run as root."""

    def __init__(self, bin_dir: Path, data: Path, run_as: list[str]) -> None:
        self.bin_dir = bin_dir
        self.data = data
        self.run_as = run_as
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *arguments: str) -> str:
        return run(self.run_as, str(self.bin_dir / tool), *arguments)

    def configure(self, **settings: str) -> None:
        with (self.data / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = '{value}'\n")

    def start(self) -> None:
        self.configure(port=str(self.port), listen_addresses="127.0.0.1")
        self.run("pg_ctl", "-D", str(self.data), "-l", f"{self.data}.log", "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def workspace() -> Iterator[tuple[Path, list[str]]]:
    root = Path(tempfile.mkdtemp(prefix="marketplace-pitr-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    yield root, run_as
    shutil.rmtree(root, ignore_errors=True)


async def _add_company(url: str, name: str) -> None:
    engine = create_async_engine(to_async_url(url))
    try:
        async with async_sessionmaker(engine)() as session:
            await make_company(session, name=name)
            await session.commit()
    finally:
        await engine.dispose()


async def _fetch_value(url: str, query: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def _wait_for(url: str, query: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not asyncio.run(_fetch_value(url, query)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {query}")
        time.sleep(0.1)


def test_recovery_to_a_moment_between_two_writes_keeps_the_first_only(
    workspace: tuple[Path, list[str]],
) -> None:
    root, run_as = workspace
    bin_dir = postgres_bin_dir()
    archive, base = root / "wal-archive", root / "base"
    primary = Cluster(bin_dir, root / "primary", run_as)
    run(run_as, "mkdir", str(archive))
    primary.run(
        "initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-instructions"
    )
    # What docs/operations.md asks of the production server.
    primary.configure(
        wal_level="replica",
        archive_mode="on",
        archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
        unix_socket_directories=str(root),
    )
    primary.start()
    recovered = Cluster(bin_dir, root / "recovered", run_as)
    try:
        upgrade_to_head(primary.url)
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(base), "--checkpoint=fast", "--wal-method=stream",
        )  # fmt: skip
        asyncio.run(_add_company(primary.url, "Before the mistake GmbH"))
        moment = asyncio.run(_fetch_value(primary.url, "SELECT clock_timestamp()"))
        assert isinstance(moment, datetime)
        time.sleep(0.05)
        asyncio.run(_add_company(primary.url, "After the mistake GmbH"))
        # Close the WAL segment holding both commits, so that it is archived now.
        segment = asyncio.run(_fetch_value(primary.url, "SELECT pg_walfile_name(pg_switch_wal())"))
        _wait_for(
            primary.url,
            f"SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver",
        )
    finally:
        primary.stop()

    run(run_as, "cp", "-a", str(base), str(recovered.data))
    recovered.configure(
        restore_command=f"cp {archive}/%f %p",
        recovery_target_time=moment.isoformat(),
        recovery_target_action="promote",
        archive_mode="off",
        unix_socket_directories=str(root),
    )
    run(run_as, "touch", str(recovered.data / "recovery.signal"))
    recovered.start()
    try:
        _wait_for(recovered.url, "SELECT NOT pg_is_in_recovery()")
        names = asyncio.run(
            _fetch_value(
                recovered.url,
                "SELECT array_agg(name ORDER BY name) FROM companies WHERE name LIKE '%mistake%'",
            )
        )
    finally:
        recovered.stop()

    assert names == ["Before the mistake GmbH"]
    log = (root / "recovered.log").read_text()
    assert "recovery stopping before commit of transaction" in log
