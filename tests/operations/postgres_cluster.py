"""Throwaway PostgreSQL clusters for the operations tests: a server of Debian's
binaries in a folder of its own, on a free loopback port (point-in-time recovery, read
replicas, restarts under load)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import asyncpg

from tests.cli.test_embedded_postgres import free_port
from tests.conftest import unavailable


def postgres_bin_dir() -> Path:
    """Debian's server binaries (the `postgresql` package CI installs), newest first."""
    found = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda path: int(path.parent.name),
    )
    if not found:
        message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        unavailable(message)
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

    @classmethod
    def started(cls, bin_dir: Path, data: Path, run_as: list[str], **settings: str) -> Cluster:
        """A new cluster (trust authentication, user postgres) with these settings, running."""
        cluster = cls(bin_dir, data, run_as)
        cluster.run(
            "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-instructions"
        )
        # Sockets beside the data folder (the default folder may be another server's).
        cluster.configure(unix_socket_directories=str(data.parent), **settings)
        cluster.start()
        return cluster


async def fetch_value(url: str, query: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def wait_for(url: str, query: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not asyncio.run(fetch_value(url, query)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {query}")
        time.sleep(0.1)
