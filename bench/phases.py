"""Where a path's CPU goes: py-spy samples of the service during a measured run, each
sample put in one phase (routing, dependency resolution, authentication, ORM, SQL driver,
Redis, serialisation, middleware, ...), for `bench/run --profile`.

A sample is a stack of frames. Its phase is that of the innermost frame that belongs to a
known part: a sample inside asyncpg is SQL whether a dependency, the handler or a
middleware asked for it; time spent in FastAPI's own dependency machinery, outside every
dependency's body, is dependency resolution. Frames of the standard library that belong
to no phase (contextlib, functools, uuid, ...) pass the sample on to their caller.

py-spy reads the process's memory from outside (`--nonblocking`: it never stops it), so
the service runs as in any other run, but py-spy's own CPU competes for the machine's
cores: the CPU figures of a profiled run are for the shares, not for comparison.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_PER_SECOND = 250

# (phase, markers): the first phase one of whose markers is in a frame wins, scanning the
# stack from its innermost frame outwards. Order matters where a marker of a later phase
# would also match (a middleware of the project before the project's own code). The
# event loop, last, only takes what no other phase does.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL driver (asyncpg)", ("/asyncpg/",)),
    ("Redis", ("/redis/",)),
    ("ORM (SQLAlchemy)", ("/sqlalchemy/",)),
    (
        "serialisation",
        ("/pydantic/", "/pydantic_core/", "/orjson", "/json/", "fastapi/encoders.py"),
    ),
    ("logging", ("/structlog/", "/logging/")),
    (
        "authentication",
        (
            "/marketplace/identity/",
            "/marketplace/companies/deps.py",
            "/marketplace/core/access.py",
            "/marketplace/core/tenancy.py",
        ),
    ),
    ("middleware", ("/marketplace/core/middleware/", "/starlette/middleware/")),
    ("handler and domain code", ("/marketplace/",)),
    ("dependency resolution", ("/fastapi/dependencies/",)),
    ("routing and request handling", ("/fastapi/routing.py", "/starlette/routing.py")),
    ("HTTP server", ("/uvicorn/", "/httptools/", "/h11/", "/granian/")),
    ("event loop", ("/asyncio/", "/uvloop/")),
)
OTHER = "other"


# The frames that drive the loop: what lies outside them (the command line, uvicorn's
# start-up, `asyncio.run`) is on every stack and says nothing about the work.
LOOP_DRIVERS = ("/asyncio/runners.py", "/asyncio/base_events.py", "/asyncio/events.py")


def phase_of(frames: list[str]) -> str:
    """The phase of one sample, its frames outermost first (py-spy's raw order). Only the
    frames inside the loop's callback count; the event loop itself comes last: a socket
    write of asyncio's streams on behalf of the Redis client is Redis, and only the loop's
    own work (no other known part on the stack) is the loop's."""
    inside = frames
    for index in range(len(frames) - 1, -1, -1):
        if any(driver in frames[index] for driver in LOOP_DRIVERS):
            inside = frames[index + 1 :]
            break
    for frame in reversed(inside):
        for phase, markers in PHASES[:-1]:
            if any(marker in frame for marker in markers):
                return phase
    loop, markers = PHASES[-1]
    return loop if any(m in frame for frame in frames for m in markers) else OTHER


def read_raw(path: Path) -> Counter[str]:
    """Samples per phase from a py-spy `--format raw` file (`frame;frame;... count`)."""
    phases: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        phases[phase_of(stack.split(";"))] += int(count)
    return phases


def shares(phases: Counter[str]) -> dict[str, float]:
    """Each phase's share of the busy samples, largest first (empty without samples)."""
    total = sum(phases.values())
    if not total:
        return {}
    return {phase: round(count / total, 3) for phase, count in phases.most_common()}


def executable() -> str | None:
    """py-spy of the project's virtualenv (beside this Python), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def available() -> bool:
    return executable() is not None


@dataclass
class Recording:
    """py-spy recording one process for a fixed time, into a raw file."""

    output: Path
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    def start(self, pid: int, seconds: float) -> None:
        command = [
            str(executable()),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            "--full-filenames",
            "--rate",
            str(SAMPLES_PER_SECOND),
            "--duration",
            str(max(round(seconds), 1)),
            "--format",
            "raw",
            "--output",
            str(self.output),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self, timeout: float = 60.0) -> dict[str, float]:
        """Wait for py-spy to write its file; the shares of its samples ({} on failure,
        with py-spy's own words in `log`)."""
        if self.process is None:
            return {}
        try:
            _, error = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, error = self.process.communicate()
        self.log.append(error.decode(errors="replace").strip())
        with contextlib.suppress(OSError):
            return shares(read_raw(self.output))
        return {}


def format_breakdown(name: str, cpu_ms: float, found: dict[str, float]) -> str:
    """One path's line: each phase with its share and its CPU ms per request."""
    if not found:
        return f"  {name:<26}  (no samples)"
    parts = [
        f"{phase} {share:.0%} ({share * cpu_ms:.2f} ms)"
        for phase, share in found.items()
        if share >= 0.01
    ]
    return f"  {name:<26}  " + ", ".join(parts)
