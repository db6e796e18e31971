"""The previous release's code, taken from git: the newest commit on the first-parent
line before the one that added today's newest migration (or HEAD itself, while that
migration is not committed yet). A fresh clone has the whole history; a shallow one, or
a copy without `.git`, cannot prove a rolling release and fails loudly."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from marketplace.core.migrations import alembic_config, head_revisions

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Release:
    commit: str
    src: Path  # the folder that holds its `marketplace` package: its PYTHONPATH
    heads: frozenset[str]  # its migration head
    revisions: frozenset[str]  # every migration it ships


def _git(*arguments: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPOSITORY), *arguments], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(arguments)} failed: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


def require_git_history() -> None:
    """Fail (never skip: CI must prove the rolling release) without the full history."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed: the previous release cannot be checked out")
    if not (REPOSITORY / ".git").exists():
        pytest.fail(f"{REPOSITORY} is not a git checkout: clone the repository to run this")
    if _git("rev-parse", "--is-shallow-repository") != "false":
        pytest.fail("a shallow clone lacks the previous release: `git fetch --unshallow`")


def previous_release_commit() -> str:
    require_git_history()
    (head,) = head_revisions()
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    newest = Path(script.get_revision(head).path).resolve().relative_to(REPOSITORY)
    added = _git("log", "--first-parent", "--diff-filter=A", "--format=%H", "--", str(newest))
    if not added:
        return _git("rev-parse", "HEAD")  # today's migration is not committed yet
    return _git("rev-parse", f"{added.splitlines()[-1]}^1")


def extract_previous_release(into: Path) -> Release:
    """The previous release's `src/marketplace` under `into`, and its migration head."""
    commit = previous_release_commit()
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", commit, "src/marketplace"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    src = into / "src"
    migrations = src / "marketplace" / "migrations"
    script = ScriptDirectory(str(migrations))
    return Release(
        commit=commit,
        src=src,
        heads=frozenset(script.get_heads()),
        revisions=frozenset(revision.revision for revision in script.walk_revisions()),
    )
