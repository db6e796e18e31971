"""`bench/run --profile`: each py-spy sample lands in the phase of its innermost known
frame, and a real recording of a running process yields those phases."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import phases  # noqa: E402

VENV = "/srv/.venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"


def frame(name: str, path: str) -> str:
    return f"{name} ({path}:1)"


def test_sql_inside_a_dependency_is_sql_not_dependency_resolution() -> None:
    stack = [
        frame("run", f"{STDLIB}/asyncio/runners.py"),
        frame("__call__", f"{VENV}/starlette/middleware/errors.py"),
        frame("solve_dependencies", f"{VENV}/fastapi/dependencies/utils.py"),
        frame("get_viewer", "/srv/src/marketplace/catalog/deps.py"),
        frame("execute", f"{VENV}/sqlalchemy/ext/asyncio/session.py"),
        frame("fetch", f"{VENV}/asyncpg/connection.py"),
        frame("__init__", f"{STDLIB}/uuid.py"),
    ]
    assert phases.phase_of(stack) == "SQL driver (asyncpg)"


def test_a_socket_write_for_redis_is_redis_and_the_bare_loop_is_the_loop() -> None:
    loop = frame("run", f"{STDLIB}/asyncio/runners.py")
    write = frame("writelines", f"{STDLIB}/asyncio/streams.py")
    redis = frame("_send_packed_command", f"{VENV}/redis/asyncio/connection.py")
    assert phases.phase_of([loop, redis, write]) == "Redis"
    assert phases.phase_of([loop, frame("_run_once", f"{STDLIB}/asyncio/base_events.py")]) == (
        "event loop"
    )
    # The command line and uvicorn's start-up wrap the loop on every stack: not the work.
    startup = [
        frame("serve", "/srv/src/marketplace/cli.py"),
        frame("run", f"{VENV}/uvicorn/server.py"),
        loop,
    ]
    assert phases.phase_of(startup) == "event loop"
    assert phases.phase_of([*startup, frame("data_received", f"{VENV}/uvicorn/h.py")]) == (
        "HTTP server"
    )


def test_the_machinery_around_dependencies_is_dependency_resolution() -> None:
    stack = [
        frame("app", f"{VENV}/fastapi/routing.py"),
        frame("solve_dependencies", f"{VENV}/fastapi/dependencies/utils.py"),
        frame("wraps", f"{STDLIB}/functools.py"),
    ]
    assert phases.phase_of(stack) == "dependency resolution"


def test_project_code_is_named_by_its_package() -> None:
    def own(path: str) -> list[str]:
        return [frame("app", f"{VENV}/fastapi/routing.py"), frame("f", f"/srv/src/{path}")]

    assert phases.phase_of(own("marketplace/identity/deps.py")) == "authentication"
    assert phases.phase_of(own("marketplace/core/middleware/abuse.py")) == "middleware"
    assert phases.phase_of(own("marketplace/catalog/service.py")) == "handler and domain code"
    assert phases.phase_of([frame("?", f"{STDLIB}/threading.py")]) == phases.OTHER


def test_raw_files_give_shares_of_the_samples(tmp_path: Path) -> None:
    raw = tmp_path / "path.txt"
    sql = ";".join([frame("h", "/srv/src/marketplace/x.py"), frame("q", f"{VENV}/asyncpg/c.py")])
    redis = frame("get", f"{VENV}/redis/asyncio/client.py")
    raw.write_text(f"{sql} 3\n{redis} 1\nnot a sample line\n")
    assert phases.shares(phases.read_raw(raw)) == {"SQL driver (asyncpg)": 0.75, "Redis": 0.25}
    line = phases.format_breakdown("detail", 2.0, {"SQL driver (asyncpg)": 0.75, "Redis": 0.25})
    assert "SQL driver (asyncpg) 75% (1.50 ms)" in line
    assert "Redis 25% (0.50 ms)" in line


def test_a_real_recording_of_a_busy_process(tmp_path: Path) -> None:
    """py-spy (a dev dependency) samples a live process from outside; the samples of a
    loop in a file under a `redis/` folder are the Redis phase."""
    assert phases.available()
    module = tmp_path / "redis" / "busy.py"
    module.parent.mkdir()
    module.write_text(
        textwrap.dedent(
            """
            import time
            def spin():
                end = time.monotonic() + 30
                while time.monotonic() < end:
                    sum(range(1000))
            spin()
            """
        )
    )
    busy = subprocess.Popen([sys.executable, str(module)])
    try:
        recording = phases.Recording(tmp_path / "busy.txt")
        recording.start(busy.pid, 2)
        found = recording.finish()
    finally:
        busy.kill()
        busy.wait()
    assert found, recording.log
    assert max(found, key=lambda phase: found[phase]) == "Redis"
