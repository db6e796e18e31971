"""Benchmark the health endpoints of the real service against a bare FastAPI baseline.

    .venv/bin/python bench/bench_health.py [--connections 64] [--duration 10] [--workers 1]

What it does, all on 127.0.0.1:
1. creates a throwaway database on the local PostgreSQL server (dropped at the end);
2. starts the service (`marketplace serve`, which migrates that database first) and the
   baseline (`bench/baseline_app.py`: bare FastAPI + a raw asyncpg pool) under uvicorn, with
   the same number of workers;
3. for each endpoint, runs `bench/loadgen.py` (a separate process) against each server with
   the same connections and duration, and prints requests/s, p50/p95/p99 latency and the
   ratio ours/baseline;
4. stops both servers and drops the database, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

from loadgen import WINDOW_END_MARKER, WINDOW_START_MARKER

BENCH_DIR = Path(__file__).resolve().parent
LOADGEN = BENCH_DIR / "loadgen.py"
HOST = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENDPOINTS = {"live": "/health/live", "ready": "/health/ready"}
STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0
REQUEST_TIMEOUT_SECONDS = 10.0
# Out of the way of a load test from one address; everything else stays as in production.
UNLIMITED_RATES = {
    "RATE_LIMIT_ANONYMOUS": "100000000/minute",
    "RATE_LIMIT_USER": "100000000/minute",
    "RATE_LIMIT_API_KEY": "100000000/minute",
    "IP_AUTOBLOCK_THRESHOLD": "1000000000",
}
Sample = tuple[float, ...]  # CPU counters and the time, read at a window marker
# Outside services the health endpoints do not need: unset, so that the figures do not
# depend on whatever the caller's shell points at.
UNSET_FOR_SERVERS = ("REDIS_URL", "AMQP_URL", "SENTRY_DSN", "DEBUG", "LOG_FORMAT")


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and its worker processes."""
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _create_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _server_environment(extra: dict[str, str]) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in UNSET_FOR_SERVERS}
    environment.update(extra)
    return environment


def _start(name: str, command: list[str], environment: dict[str, str], workdir: Path) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,  # an empty directory: no stray `.env` is read
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, by us
        )
    return Server(
        name=name,
        port=int(command[command.index("--port") + 1]),
        process=process,
        log_path=log_path,
    )


def start_service(
    database_url: str,
    workers: int,
    workdir: Path,
    *,
    name: str = "marketplace",
    environment: dict[str, str] | None = None,
) -> Server:
    """`marketplace serve` in production mode; `environment` adds or overrides settings."""
    server_environment = _server_environment(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            # Production refuses the console and file transports; nothing is sent here.
            "EMAIL_TRANSPORT": "smtp",
            "SMS_TRANSPORT": "disabled",
            "LOG_LEVEL": "WARNING",
            **(environment or {}),
        }
    )
    command = [
        sys.executable,
        "-m",
        "marketplace.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(_free_port()),
        "--workers",
        str(workers),
    ]
    return _start(name, command, server_environment, workdir)


def start_baseline(
    database_url: str, workers: int, workdir: Path, *, app: str = "baseline_app"
) -> Server:
    """A baseline module of bench/ (its `create_app` factory) under uvicorn."""
    environment = _server_environment({"BENCH_DATABASE_URL": database_url})
    # The options `marketplace serve` gives uvicorn, so that only the application differs.
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"{app}:create_app",
        "--factory",
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        HOST,
        "--port",
        str(_free_port()),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--no-proxy-headers",
        "--no-server-header",
        "--timeout-graceful-shutdown",
        "30",
    ]
    return _start("baseline", command, environment, workdir)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def wait_until_ready(server: Server) -> None:
    """Until `/health/ready` answers 200; fail early when the process dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            status = _get(server.base_url + ENDPOINTS["ready"])
        except OSError as error:
            last_problem = repr(error)
        else:
            if status == 200:
                return
            last_problem = f"/health/ready answered {status}"
        time.sleep(0.2)
    raise BenchError(
        f"{server.name} not ready after {STARTUP_TIMEOUT_SECONDS:.0f} s ({last_problem}):\n"
        f"{server.log_tail()}"
    )


def stop(server: Server) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not exited in time."""
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=STOP_TIMEOUT_SECONDS)


def database_cpu_seconds(database: str) -> float:
    """CPU used so far by the PostgreSQL backends connected to the benchmark's database.

    Found by their process title (`postgres: ... user database host(port) state`); backends
    that close during a run are missed, so this is a lower bound.
    """
    total = 0.0
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        command_line = process.info["cmdline"] or []
        times = process.info["cpu_times"]
        if times is not None and f" {database} " in f" {' '.join(command_line)} ":
            total += times.user + times.system
    return total


def run_loadgen(
    command: list[str], budget: float, target: str, sample: Callable[[], Sample]
) -> tuple[dict[str, Any], dict[str, Sample]]:
    """Run the load generator, `sample` the CPU counters at its window's start and end
    markers, and return its JSON report with the two samples."""
    samples: dict[str, Sample] = {}
    problems: list[str] = []
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # The load generator bounds its own run; the watchdog bounds it should it hang anyway.
    watchdog = threading.Timer(budget, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        assert process.stdout is not None
        for raw_line in process.stderr:
            line = raw_line.decode(errors="replace").rstrip("\n")
            if line in (WINDOW_START_MARKER, WINDOW_END_MARKER):
                samples[line] = sample()
            else:
                problems.append(line)
        output = process.stdout.read()
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0 or len(samples) != 2:  # both markers seen
        raise BenchError(
            f"load generator failed against {target} (exit {process.returncode}):\n"
            + "\n".join(problems[-30:])
        )
    report: dict[str, Any] = json.loads(output)
    return report, samples


def run_load(
    server: Server,
    path: str,
    database: str,
    arguments: argparse.Namespace,
    extra_arguments: Sequence[str] = (),
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(LOADGEN),
        server.base_url + path,
        "--connections",
        str(arguments.connections),
        "--duration",
        str(arguments.duration),
        "--warmup",
        str(arguments.warmup),
        "--timeout",
        str(REQUEST_TIMEOUT_SECONDS),
        "--markers",
        *extra_arguments,
    ]
    budget = arguments.warmup + arguments.duration + 2 * REQUEST_TIMEOUT_SECONDS + 30
    report, samples = run_loadgen(
        command,
        budget,
        server.name,
        lambda: (server.cpu_seconds(), database_cpu_seconds(database), time.monotonic()),
    )
    if server.process.poll() is not None:
        raise BenchError(f"{server.name} died during the run:\n{server.log_tail()}")
    (server_start, database_start, started) = samples[WINDOW_START_MARKER]
    (server_end, database_end, ended) = samples[WINDOW_END_MARKER]
    window_seconds = ended - started
    server_share = (server_end - server_start) / window_seconds  # cores busy, on average
    report["server_cpu_percent"] = round(100 * server_share, 1)
    report["database_cpu_percent"] = round(
        100 * (database_end - database_start) / window_seconds, 1
    )
    # Less sensitive to other load on the machine than requests/s.
    report["server_cpu_ms_per_request"] = round(
        1000 * server_share / max(report["requests_per_second"], 1e-9), 3
    )
    return report


def _row(label: str, report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    non_2xx = sum(report["non_2xx"].values())
    errors = sum(report["errors"].values())
    return (
        f"  {label:<11} {report['requests_per_second']:>7,.0f} {latency['p50']:>7.1f} "
        f"{latency['p95']:>7.1f} {latency['p99']:>7.1f} {non_2xx:>7} {errors:>6} "
        f"{report['server_cpu_ms_per_request']:>10.3f} {report['server_cpu_percent']:>6.0f}% "
        f"{report['database_cpu_percent']:>4.0f}% {report['loadgen_cpu_percent']:>7.0f}%"
    )


def _ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}x" if baseline > 0 else "n/a"


def print_endpoint(
    path: str, ours: dict[str, Any], baseline: dict[str, Any], method: str = "GET"
) -> None:
    print(f"\n{method} {path}")
    print(
        f"  {'server':<11} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'non-2xx':>7} {'errors':>6} {'CPU ms/req':>10} {'server':>7} {'pg':>5} {'loadgen':>8}"
    )
    print(_row("marketplace", ours))
    print(_row("baseline", baseline))
    latency_ratios = "  ".join(
        f"{name} {_ratio(ours['latency_ms'][name], baseline['latency_ms'][name])}"
        for name in ("p50", "p95", "p99")
    )
    throughput = _ratio(ours["requests_per_second"], baseline["requests_per_second"])
    cost = _ratio(ours["server_cpu_ms_per_request"], baseline["server_cpu_ms_per_request"])
    print(f"  ours/baseline: req/s {throughput}   latency {latency_ratios}   CPU/req {cost}")
    for label, report in (("marketplace", ours), ("baseline", baseline)):
        if report["non_2xx"] or report["errors"]:
            print(f"  WARNING {label}: non-2xx {report['non_2xx']}, errors {report['errors']}")


def _bounded(low: float, high: float, kind: type[float] | type[int]) -> Any:
    def parse(text: str) -> float | int:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Health endpoints: the service against a bare FastAPI + asyncpg baseline."
    )
    parser.add_argument(
        "--connections",
        type=_bounded(1, 1024, int),
        default=64,
        help="concurrent keep-alive connections (default 64)",
    )
    parser.add_argument(
        "--duration",
        type=_bounded(1, 300, float),
        default=10.0,
        help="measured seconds per endpoint and server (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=_bounded(0, 60, float),
        default=2.0,
        help="seconds of load before each measurement (default 2)",
    )
    parser.add_argument(
        "--workers",
        type=_bounded(1, 16, int),
        default=1,
        help="uvicorn worker processes of each server (default 1)",
    )
    parser.add_argument(
        "--endpoints",
        default="live,ready",
        help="comma-separated, from: live, ready (default both)",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE "
        "(default $BENCH_ADMIN_DATABASE_URL or postgres@127.0.0.1:5432)",
    )
    parser.add_argument(
        "--json-output", type=Path, help="also write the raw figures to this JSON file"
    )
    arguments = parser.parse_args(argv)
    names = [name.strip() for name in arguments.endpoints.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENDPOINTS]
    if unknown or not names:
        parser.error(f"--endpoints: unknown {unknown}; choose from {sorted(ENDPOINTS)}")
    arguments.endpoints = names
    if urlsplit(arguments.admin_url).hostname not in LOOPBACK_HOSTS:
        parser.error("--admin-url must point at the local server (127.0.0.1)")
    return arguments


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that the cleanup below runs
    database = f"bench_{secrets.token_hex(6)}"
    database_url = _with_database(arguments.admin_url, database)
    servers: list[Server] = []
    results: dict[str, dict[str, Any]] = {}
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{arguments.workers} uvicorn worker(s) per server, {arguments.connections} "
        f"connections, {arguments.warmup:g} s warm-up + {arguments.duration:g} s per run; "
        f"database {database} (throwaway)"
    )
    print("The load generator runs on the same machine and shares its CPUs with the servers.")
    try:
        asyncio.run(_create_database(arguments.admin_url, database))
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-") as workdir:
            try:
                servers.append(start_service(database_url, arguments.workers, Path(workdir)))
                servers.append(start_baseline(database_url, arguments.workers, Path(workdir)))
                for server in servers:
                    wait_until_ready(server)
                ours, baseline = servers
                for name in arguments.endpoints:
                    path = ENDPOINTS[name]
                    results[path] = {
                        "marketplace": run_load(ours, path, database, arguments),
                        "baseline": run_load(baseline, path, database, arguments),
                    }
                    print_endpoint(path, results[path]["marketplace"], results[path]["baseline"])
            finally:
                for server in servers:
                    stop(server)
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers and dropping the database", file=sys.stderr)
        return 130
    finally:
        asyncio.run(_drop_database(arguments.admin_url, database))
    if arguments.json_output is not None:
        arguments.json_output.parent.mkdir(parents=True, exist_ok=True)
        settings = {key: value for key, value in vars(arguments).items() if key != "json_output"}
        settings["admin_url"] = urlsplit(arguments.admin_url)._replace(netloc="***").geturl()
        payload = {"cpus": os.cpu_count(), "settings": settings, "results": results}
        arguments.json_output.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
