"""A small closed-loop HTTP/1.1 load generator (a stand-in for wrk, which is not installed).

Opens N keep-alive connections to one URL on the loopback interface; each connection sends
a request, reads the whole response and sends the next one, for a fixed duration after a
warm-up. Prints one JSON object on stdout: 2xx responses per second, latency percentiles of
the 2xx responses, and the counts of non-2xx responses and transport errors.

    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/health/live \
        --connections 64 --duration 10 --warmup 2

With `--requests FILE` (a JSON list of `{"method", "path", "headers", "body"}`) connection
`i` sends request `i % len(list)` to the URL instead of a GET: a POST with its own body and
credentials per connection, as 32 buyers placing orders each with their own token. An entry
may also be a list of such requests: the connection then sends them in turn, round and
round (a product id per request, or a cart filled and checked out). `path` replaces the
URL's path and query. `{unique}` in a header value is replaced by a new random token on
every request sent (an `Idempotency-Key` per order).

It runs in its own process (one event loop, uvloop when installed) so that it does not
share an interpreter with the server it measures. Everything is bounded: the number of
connections, the duration, each request's time and the number of latency samples kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import resource
import sys
import time
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_CONNECTIONS = 1024
MAX_DURATION_SECONDS = 600.0
MAX_SAMPLES = 20_000_000  # 160 MB of doubles; one Python process stays far below it
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
STREAM_LIMIT_BYTES = 64 * 1024
RECONNECT_PAUSE_SECONDS = 0.05
# With --markers, written on stderr when the measured window opens and closes, so that a
# caller can sample the servers' CPU over the same window.
WINDOW_START_MARKER = "bench: window start"
WINDOW_END_MARKER = "bench: window end"

UNIQUE_PLACEHOLDER = b"{unique}"

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ProtocolError(Exception):
    """The server's response could not be read as HTTP/1.1."""


@dataclass
class Window:
    """Responses completing inside [start, end] are recorded; no request starts after `end`.

    Mutable because the connections open before the window is known.
    """

    start: float = math.inf
    end: float = math.inf


@dataclass
class Results:
    latencies: array[float] = field(default_factory=lambda: array("d"))
    non_2xx: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples_dropped: int = 0


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return
        await reader.readexactly(size + 2)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; return its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or len(head) < 12:
        raise ProtocolError("bad status line")
    status = int(head[9:12])
    lowered = head.lower()
    keep_alive = b"\r\nconnection: close" not in lowered
    length_at = lowered.find(b"\r\ncontent-length:")
    if length_at >= 0:
        value_end = lowered.index(b"\r\n", length_at + 2)
        length = int(lowered[length_at + 17 : value_end])
        if length:
            await reader.readexactly(length)
    elif b"\r\ntransfer-encoding: chunked" in lowered:
        await _read_chunked(reader)
    elif not (status in (204, 304) or 100 <= status < 200):
        # No length: the body runs to the end of the connection.
        await reader.read()
        keep_alive = False
    return status, keep_alive


def _error_name(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, asyncio.IncompleteReadError):
        return "connection closed"
    if isinstance(error, ProtocolError | ValueError | asyncio.LimitOverrunError):
        return "protocol"
    return type(error).__name__


async def _open(host: str, port: int) -> Connection:
    return await asyncio.open_connection(host, port, limit=STREAM_LIMIT_BYTES)


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def run_connection(
    connection: Connection | None,
    host: str,
    port: int,
    requests: list[bytes],
    window: Window,
    request_timeout: float,
    results: Results,
) -> None:
    """One persistent connection: request, read, repeat until the window closes; the
    requests are sent in turn."""
    perf_counter = time.perf_counter
    latencies = results.latencies
    turn = 0
    try:
        while True:
            request = requests[turn % len(requests)]
            turn += 1
            if UNIQUE_PLACEHOLDER in request:
                request = request.replace(UNIQUE_PLACEHOLDER, uuid.uuid4().hex.encode())
            started = perf_counter()
            if started >= window.end:
                return
            if connection is None:
                try:
                    async with asyncio.timeout(request_timeout):
                        connection = await _open(host, port)
                except (OSError, TimeoutError) as error:
                    results.errors[f"connect: {_error_name(error)}"] += 1
                    await asyncio.sleep(RECONNECT_PAUSE_SECONDS)  # never a busy loop
                    continue
                started = perf_counter()
            reader, writer = connection
            try:
                async with asyncio.timeout(request_timeout):
                    writer.write(request)
                    status, keep_alive = await read_response(reader)
            except (
                OSError,
                TimeoutError,
                ProtocolError,
                ValueError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
            ) as error:
                if window.start <= perf_counter() <= window.end:
                    results.errors[_error_name(error)] += 1
                await _close(writer)
                connection = None
                continue
            finished = perf_counter()
            if window.start <= finished <= window.end:
                if 200 <= status < 300:
                    if len(latencies) < MAX_SAMPLES:
                        latencies.append(finished - started)
                    else:
                        results.samples_dropped += 1
                else:
                    results.non_2xx[status] += 1
            if not keep_alive:
                await _close(writer)
                connection = None
    finally:
        if connection is not None:
            await _close(connection[1])


def _request_bytes(netloc: str, target: str, spec: dict[str, Any]) -> bytes:
    """One HTTP/1.1 request: a GET by default; `spec` may give a method, headers, a body."""
    body = spec.get("body")
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [
        f"{spec.get('method', 'GET')} {spec.get('path', target)} HTTP/1.1",
        f"Host: {netloc}",
        "User-Agent: marketplace-bench",
        "Accept: application/json",
    ]
    lines += [f"{name}: {value}" for name, value in spec.get("headers", {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def percentile(sorted_values: array[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    url: str,
    connections: int,
    duration: float,
    warmup: float,
    request_timeout: float,
    *,
    markers: bool = False,
    requests: list[dict[str, Any] | list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in LOOPBACK_HOSTS:
        raise SystemExit(f"only http:// URLs on the loopback interface are allowed, not {url!r}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    prepared = [
        [
            _request_bytes(parts.netloc, target, spec)
            for spec in (entry if isinstance(entry, list) else [entry])
        ]
        for entry in requests or [{}]
    ]
    if any(not cycle for cycle in prepared):
        raise SystemExit("--requests: an entry is an empty list")

    # Open every connection first, so that connecting is not part of the measurement.
    try:
        async with asyncio.timeout(request_timeout):
            opened = await asyncio.gather(
                *(_open(host, port) for _ in range(connections)), return_exceptions=True
            )
    except TimeoutError:
        raise SystemExit(
            f"could not open {connections} connections in {request_timeout} s"
        ) from None
    results = Results()
    initial: list[Connection | None] = []
    for outcome in opened:
        if isinstance(outcome, BaseException):
            results.errors[f"connect: {_error_name(outcome)}"] += 1
            initial.append(None)
        else:
            initial.append(outcome)
    if all(connection is None for connection in initial):
        raise SystemExit(f"could not open any connection to {host}:{port}: {dict(results.errors)}")
    results.errors.clear()  # from here on, only errors inside the window count

    window = Window()
    now = time.perf_counter()
    window.start = now + warmup
    window.end = window.start + duration
    tasks = [
        asyncio.create_task(
            run_connection(
                connection,
                host,
                port,
                prepared[index % len(prepared)],
                window,
                request_timeout,
                results,
            )
        )
        for index, connection in enumerate(initial)
    ]
    await asyncio.sleep(warmup)
    cpu_at_start = _cpu_seconds()
    if markers:
        print(WINDOW_START_MARKER, file=sys.stderr, flush=True)
    await asyncio.sleep(max(window.end - time.perf_counter(), 0.0))
    cpu_at_end = _cpu_seconds()
    if markers:
        print(WINDOW_END_MARKER, file=sys.stderr, flush=True)
    # No request starts after the window; those in flight are bounded by their own timeout.
    async with asyncio.timeout(request_timeout + 5):
        await asyncio.gather(*tasks)

    latencies = array("d", sorted(results.latencies))
    completed = len(latencies) + results.samples_dropped
    to_ms = 1000.0
    return {
        "url": url,
        "connections": connections,
        "duration_seconds": duration,
        "warmup_seconds": warmup,
        "requests": completed,
        "requests_per_second": round(completed / duration, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50) * to_ms, 3),
            "p95": round(percentile(latencies, 0.95) * to_ms, 3),
            "p99": round(percentile(latencies, 0.99) * to_ms, 3),
            "max": round(latencies[-1] * to_ms, 3) if latencies else math.nan,
        },
        "non_2xx": {str(status): count for status, count in sorted(results.non_2xx.items())},
        "errors": dict(sorted(results.errors.items())),
        "samples_dropped": results.samples_dropped,
        # 100 means the load generator used one whole core: it may then be the bottleneck.
        "loadgen_cpu_percent": round(100 * (cpu_at_end - cpu_at_start) / duration, 1),
    }


def _bounded(low: float, high: float, kind: type[float] | type[int]) -> Any:
    def parse(text: str) -> float | int:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("url", help="http://127.0.0.1:PORT/path (loopback only)")
    parser.add_argument(
        "--connections",
        type=_bounded(1, MAX_CONNECTIONS, int),
        default=64,
        help="concurrent keep-alive connections (default 64)",
    )
    parser.add_argument(
        "--duration",
        type=_bounded(0.1, MAX_DURATION_SECONDS, float),
        default=10.0,
        help="measured seconds (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=_bounded(0, 60, float),
        default=2.0,
        help="seconds of load before measuring (default 2)",
    )
    parser.add_argument(
        "--timeout",
        type=_bounded(0.1, 60, float),
        default=10.0,
        help="seconds one request may take before it counts as an error (default 10)",
    )
    parser.add_argument(
        "--requests",
        type=Path,
        help="JSON list of {method, path, headers, body} (or lists of them, sent in turn): "
        "connection i sends entry i %% length",
    )
    parser.add_argument(
        "--markers",
        action="store_true",
        help="write a line on stderr when the measured window opens and when it closes",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    try:
        import uvloop  # optional: the event loop uvicorn itself uses when installed
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    report = runner(
        run(
            arguments.url,
            arguments.connections,
            arguments.duration,
            arguments.warmup,
            arguments.timeout,
            markers=arguments.markers,
            requests=json.loads(arguments.requests.read_text()) if arguments.requests else None,
        )
    )
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
