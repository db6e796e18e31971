"""`scripts/run.sh`, as a new user starts it: the banner names the address the service
really listens on, and every demo account is printed with its role."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from marketplace.demo import BUYERS, STAFF_EMAIL, SUPPLIERS
from tests.cli.test_embedded_postgres import free_port
from tests.conftest import _database_url_on
from tests.test_demo import _admin

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_database(postgres_server_url: str) -> Iterator[str]:
    name = f"mp_test_run_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    yield _database_url_on(postgres_server_url, name)
    asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Started:
    """run.sh in its own process group, its output collected line by line."""

    def __init__(self, arguments: list[str], environment: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            ["scripts/run.sh", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if found:
                return found[0]
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line starting {prefix!r}:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.reader.join(timeout=10)


def test_run_script_banner_shows_the_address_it_serves_on(
    run_database: str, tmp_path: Path
) -> None:
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HOST", "PORT", "REDIS_URL", "AMQP_URL", "ENVIRONMENT", "SECRET_KEY"}
    }
    environment.update(
        DATABASE_URL=run_database,
        STORAGE_DIR=str(tmp_path / "storage"),
        DEMO_PRODUCTS_PER_SUPPLIER="1",
        LOG_LEVEL="WARNING",
    )
    started = Started(["--port", str(port)], environment)
    try:
        banner = started.wait_for("Marketplace:", timeout=240)
        assert banner == f"Marketplace: http://127.0.0.1:{port}"
        assert started.wait_for("API docs:", 5).startswith(
            f"API docs:    http://127.0.0.1:{port}/api/docs"
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                docs = httpx.get(f"http://127.0.0.1:{port}/api/docs", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "\n".join(started.lines)
                time.sleep(0.3)
        assert docs.status_code == 200
    finally:
        started.stop()

    accounts = {
        line.split()[0]: " ".join(line.split()[1:])
        for line in started.lines
        if line.startswith("  ") and "@" in line.split()[0]
    }
    assert accounts[STAFF_EMAIL] == "platform staff"
    for spec in (*SUPPLIERS, *BUYERS):
        for person in spec.people:
            assert accounts[person.email] == f"{person.role} of {spec.name}"
    assert "code 000000" in "\n".join(started.lines)
