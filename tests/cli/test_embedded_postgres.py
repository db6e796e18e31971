"""The embedded default end to end: start, migrate, serve, stop cleanly, start again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import asyncpg
import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow

MARKETPLACE = str(Path(sys.executable).parent / "marketplace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("name") == "postgres" and str(data_dir) in " ".join(cmdline):
            found.append(process)
    return found


def start_service(
    workdir: Path, data_dir: Path, port: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`marketplace serve`; its output goes to `log` when given (else a pipe read only
    if it fails), at INFO so that the start-up lines are there."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "AMQP_URL", "ENVIRONMENT", "SECRET_KEY"}
    }
    environment.update(
        {
            "EMBEDDED_POSTGRES_DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING" if log is None else "INFO",
            "ENVIRONMENT": "development",
        }
    )
    if log is None:
        output: int | IO[bytes] = subprocess.PIPE
    else:
        output = log.open("wb")
    try:
        return subprocess.Popen(
            [MARKETPLACE, "serve", "--port", str(port)],
            cwd=workdir,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            assert not isinstance(output, int)
            output.close()  # the service holds its own copy


def wait_until_ready(
    process: subprocess.Popen[bytes],
    port: int,
    timeout: float = 90,
    log: Path | None = None,
    probe: str = "/health/ready",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            if log is not None:
                output = log.read_text()
            raise AssertionError(f"service exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        # A refused connection costs next to nothing: ask often, and go on as soon as it
        # is ready (several tests wait for one or two services each).
        time.sleep(0.05)
    process.kill()
    raise AssertionError("service did not become ready")


def stop_service(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def socket_url(data_dir: Path) -> str:
    return f"postgresql://postgres@/marketplace?host={data_dir}"


async def execute(url: str, statement: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def test_embedded_postgres_lifecycle(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    port = free_port()

    log = tmp_path / "serve.log"
    first = start_service(tmp_path, data_dir, port, log)
    try:
        wait_until_ready(first, port, log=log)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["status"] == "ok"
        assert health["components"]["database"] == {
            "status": "ok",
            "mode": "embedded",
            "latency_ms": health["components"]["database"]["latency_ms"],
            "error": None,
        }
        assert health["components"]["cache"]["mode"] == "embedded"
        assert health["components"]["broker"]["mode"] == "embedded"
        asyncio.run(execute(socket_url(data_dir), "CREATE TABLE survives (note text)"))
        asyncio.run(execute(socket_url(data_dir), "INSERT INTO survives VALUES ('kept')"))
    finally:
        exit_code = stop_service(first)
    assert exit_code in (0, 128 + signal.SIGTERM)
    # `serve` started the embedded server and handed its address on as DATABASE_URL;
    # the start-up line says what the database is, as /health does.
    started = [line for line in log.read_text().splitlines() if "platform.started" in line]
    assert len(started) == 1, log.read_text()
    assert "database=embedded" in started[0]
    deadline = time.monotonic() + 15
    while postgres_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postgres_processes(data_dir) == [], "embedded PostgreSQL kept running after exit"

    second = start_service(tmp_path, data_dir, port)
    try:
        wait_until_ready(second, port)
        kept = asyncio.run(execute(socket_url(data_dir), "SELECT note FROM survives"))
        assert kept == "kept"
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert response.status_code == 200
    finally:
        stop_service(second)
    deadline = time.monotonic() + 15
    while postgres_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postgres_processes(data_dir) == []
