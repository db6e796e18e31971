"""The folder each throwaway cluster of a test lives in (tests/operations/postgres_cluster.py),
and the previous release's code."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.operations.previous_release import Release, extract_previous_release


@pytest.fixture
def workspace() -> Iterator[tuple[Path, list[str]]]:
    root = Path(tempfile.mkdtemp(prefix="marketplace-cluster-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    yield root, run_as
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """The previous release's source, from git (see previous_release.py)."""
    return extract_previous_release(tmp_path_factory.mktemp("previous-release"))
