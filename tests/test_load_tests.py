"""A short smoke run of the Locust scenario (`tests/load_tests.py`), as the README runs it:
the demo data on a database of its own, the service started as `marketplace serve`, and
Locust headless against it for a few seconds. Any failed request (a 5xx, an unexpected
status, an exception in a task) fails the test, and every kind of traffic must have run."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_migrated_database, drop_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LOCUST_SECONDS = 10
# Every request name of the scenario's four kinds of traffic must appear in the stats.
EXPECTED = (
    "browse: product detail",
    "browse: category listing",
    "search",
    "cart: add line",
    "checkout",
    "supplier: update product",
)
# The variables a caller's shell may set that would change what the service talks to.
UNSET = ("DATABASE_URL", "REDIS_URL", "AMQP_URL", "ENVIRONMENT", "SECRET_KEY", "SENTRY_DSN")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo_service(postgres_server_url: str, migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """The service on a throwaway database with the demo data (a few products per
    supplier), development sign-in code 000000, rate limits out of the way of one client."""
    # Migrated already: `demo` finds it at head and loads the data.
    database_url = asyncio.run(
        create_migrated_database(postgres_server_url, migrated_template, "load")
    )
    environment = {key: value for key, value in os.environ.items() if key not in UNSET}
    environment.update(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "development",
            "AUTH_OTP_BYPASS_CODE": "000000",
            "RATE_LIMIT_ANONYMOUS": "100000/minute",
            "RATE_LIMIT_USER": "100000/minute",
            "IP_AUTOBLOCK_THRESHOLD": "1000000",
            "STORAGE_DIR": str(tmp_path / "storage"),
            "DEMO_PRODUCTS_PER_SUPPLIER": "6",
            "LOG_LEVEL": "WARNING",
        }
    )
    port = _free_port()
    log = tmp_path / "service.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "-m", "marketplace.cli", "demo"],
            cwd=tmp_path,  # no stray .env
            env=environment,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "marketplace.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--no-migrate",
                ],
                cwd=tmp_path,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            assert time.monotonic() < deadline, "the service is not ready after 60 s"
            time.sleep(0.2)
        yield url
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        asyncio.run(drop_database(postgres_server_url, database_url))


def test_the_mixed_traffic_runs_without_a_failure(demo_service: str, tmp_path: Path) -> None:
    stats = tmp_path / "locust"
    environment = {**os.environ, "LOCUST_WAIT_SECONDS": "0.05,0.3"}
    finished = subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "tests" / "load_tests.py"),
            "--headless",
            "--users",
            "8",
            "--spawn-rate",
            "8",
            "--run-time",
            f"{LOCUST_SECONDS}s",
            "--host",
            demo_service,
            "--csv",
            str(stats),
            "--only-summary",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        timeout=LOCUST_SECONDS + 60,
        check=False,
    )
    report = finished.stdout.decode(errors="replace") + finished.stderr.decode(errors="replace")
    with (tmp_path / "locust_stats.csv").open() as table:
        rows = {row["Name"]: row for row in csv.DictReader(table)}
    failures = {
        name: row["Failure Count"] for name, row in rows.items() if row["Failure Count"] != "0"
    }
    assert failures == {}, report[-4000:]
    assert finished.returncode == 0, report[-4000:]  # also an exception in a task
    missing = [name for name in EXPECTED if int(rows.get(name, {}).get("Request Count", 0)) == 0]
    assert missing == [], f"no {missing} in the run:\n{report[-4000:]}"
