"""Point-in-time recovery as docs/operations.md describes it, on a throwaway cluster:
WAL archived with `archive_command`, a base backup, two companies written through the
app's models with a moment between them, and a recovery to that moment that has the
first and not the second."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from marketplace.core.db import to_async_url
from marketplace.core.migrations import upgrade_to_head
from tests.factories import make_company
from tests.operations.postgres_cluster import Cluster, fetch_value, postgres_bin_dir, run, wait_for

pytestmark = pytest.mark.slow


async def _add_company(url: str, name: str) -> None:
    engine = create_async_engine(to_async_url(url))
    try:
        async with async_sessionmaker(engine)() as session:
            await make_company(session, name=name)
            await session.commit()
    finally:
        await engine.dispose()


def test_recovery_to_a_moment_between_two_writes_keeps_the_first_only(
    workspace: tuple[Path, list[str]],
) -> None:
    root, run_as = workspace
    bin_dir = postgres_bin_dir()
    archive, base = root / "wal-archive", root / "base"
    primary = Cluster(bin_dir, root / "primary", run_as)
    run(run_as, "mkdir", str(archive))
    primary.run(
        "initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-instructions"
    )
    # What docs/operations.md asks of the production server.
    primary.configure(
        wal_level="replica",
        archive_mode="on",
        archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
        unix_socket_directories=str(root),
    )
    primary.start()
    recovered = Cluster(bin_dir, root / "recovered", run_as)
    try:
        upgrade_to_head(primary.url)
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(base), "--checkpoint=fast", "--wal-method=stream",
        )  # fmt: skip
        asyncio.run(_add_company(primary.url, "Before the mistake GmbH"))
        moment = asyncio.run(fetch_value(primary.url, "SELECT clock_timestamp()"))
        assert isinstance(moment, datetime)
        time.sleep(0.05)
        asyncio.run(_add_company(primary.url, "After the mistake GmbH"))
        # Close the WAL segment holding both commits, so that it is archived now.
        segment = asyncio.run(fetch_value(primary.url, "SELECT pg_walfile_name(pg_switch_wal())"))
        wait_for(
            primary.url,
            f"SELECT last_archived_wal >= '{segment}' FROM pg_stat_archiver",
        )
    finally:
        primary.stop()

    run(run_as, "cp", "-a", str(base), str(recovered.data))
    recovered.configure(
        restore_command=f"cp {archive}/%f %p",
        recovery_target_time=moment.isoformat(),
        recovery_target_action="promote",
        archive_mode="off",
        unix_socket_directories=str(root),
    )
    run(run_as, "touch", str(recovered.data / "recovery.signal"))
    recovered.start()
    try:
        wait_for(recovered.url, "SELECT NOT pg_is_in_recovery()")
        names = asyncio.run(
            fetch_value(
                recovered.url,
                "SELECT array_agg(name ORDER BY name) FROM companies WHERE name LIKE '%mistake%'",
            )
        )
    finally:
        recovered.stop()

    assert names == ["Before the mistake GmbH"]
    log = (root / "recovered.log").read_text()
    assert "recovery stopping before commit of transaction" in log
