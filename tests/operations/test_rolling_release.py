"""A rolling release and its rollback, with real processes: the previous release's code
(from git, see previous_release.py) and today's serve one database migrated to today's
head at the same time, each reading what the other wrote; then today's processes stop
(the rollback) and the previous release alone keeps working on rows they wrote. This is
what expand and contract promise (docs/operations.md, "Releases and rollback")."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

import marketplace
from marketplace.core.migrations import alembic_config, head_revisions
from tests.cli.test_embedded_postgres import MARKETPLACE, free_port, wait_until_ready
from tests.conftest import TEST_SECRET_KEY, make_settings, migrated_scratch_database, started_app
from tests.factories import platform_of
from tests.operations.previous_release import Release
from tests.trade.conftest import Market, build_market, order_body

pytestmark = pytest.mark.slow

# The first release whose readiness tells a newer schema (ready) from an older one.
HISTORY_REVISION = "0820_migration_history"


@pytest.fixture
async def migrated_database(postgres_server_url: str, migrated_template: str) -> AsyncIterator[str]:
    async with migrated_scratch_database(postgres_server_url, migrated_template, "rolling") as url:
        yield url


# Today's code: the src folder this test imports `marketplace` from.
TODAY = Path(marketplace.__file__).resolve().parents[1]


def _environment(database_url: str, code: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "ENVIRONMENT": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        "OUTBOX_RELAY_ENABLED": "false",
        # Ahead of whatever the virtualenv has installed.
        "PYTHONPATH": str(code),
    }


@contextmanager
def serving(
    database_url: str, workdir: Path, code: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`marketplace serve --no-migrate` (as a deploy runs its replicas) with `code` (a
    release's src folder); its process and base URL."""
    workdir.mkdir()
    port = free_port()
    log = workdir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [MARKETPLACE, "serve", "--port", str(port), "--no-migrate"],
            cwd=workdir,  # no stray .env
            env=_environment(database_url, code),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _package_of(environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import marketplace; print(marketplace.__file__)"],
        env=environment,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


async def _place(client: httpx.AsyncClient, market: Market) -> str:
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, 10)),
        headers={**market.headers["owner"], "Idempotency-Key": f"rolling-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def _order(client: httpx.AsyncClient, market: Market, order_id: str) -> dict[str, object]:
    response = await client.get(f"/api/v1/orders/{order_id}", headers=market.headers["owner"])
    assert response.status_code == 200, response.text
    order: dict[str, object] = response.json()
    return order


async def _listed(client: httpx.AsyncClient, market: Market) -> set[str]:
    response = await client.get("/api/v1/orders", headers=market.headers["owner"])
    assert response.status_code == 200, response.text
    return {order["id"] for order in response.json()["items"]}


async def _confirm(client: httpx.AsyncClient, market: Market, order_id: str) -> str:
    response = await client.post(
        f"/api/v1/orders/{order_id}/transitions",
        json={"action": "confirm"},
        headers=market.headers["supplier"],
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_the_previous_release_is_the_one_before_todays_migration_head(
    previous_release: Release,
) -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    (head,) = head_revisions()
    assert previous_release.heads == {script.get_revision(head).down_revision}


async def test_previous_and_new_release_share_the_new_schema_then_roll_back(
    previous_release: Release, migrated_database: str, tmp_path: Path
) -> None:
    old_code = previous_release.src
    assert _package_of(_environment(migrated_database, old_code)) == str(
        old_code / "marketplace" / "__init__.py"
    ), "the old process must run the previous release's code, not today's"
    assert _package_of(_environment(migrated_database, TODAY)) == marketplace.__file__
    with (
        serving(migrated_database, tmp_path / "old", old_code) as (old, old_url),
        serving(migrated_database, tmp_path / "new", TODAY) as (new, new_url),
    ):
        # Committed data both see, made while they start.
        async for app in started_app(make_settings(database_url=migrated_database)):
            async with platform_of(app).database.session_factory() as session:
                market = await build_market(app, session)
                await session.commit()
        # The previous release may predate readiness that accepts a newer schema: wait
        # for it to be alive. Today's must be ready on its own head.
        await asyncio.gather(
            asyncio.to_thread(
                wait_until_ready,
                old,
                int(old_url.rsplit(":", 1)[1]),
                log=tmp_path / "old" / "serve.log",
                probe="/health/live",
            ),
            asyncio.to_thread(
                wait_until_ready,
                new,
                int(new_url.rsplit(":", 1)[1]),
                log=tmp_path / "new" / "serve.log",
            ),
        )
        async with (
            httpx.AsyncClient(base_url=old_url, timeout=20) as old_client,
            httpx.AsyncClient(base_url=new_url, timeout=20) as new_client,
        ):
            ready = (await new_client.get("/health/ready")).json()
            assert ready == {"status": "ready", "database": "ok", "migrations": "current"}
            if HISTORY_REVISION in previous_release.revisions:
                # A release that keeps migration_history knows a newer schema is safe.
                ready = (await old_client.get("/health/ready")).json()
                assert ready == {"status": "ready", "database": "ok", "migrations": "ahead"}

            # Rolling deploy: both serve at once, each reads what the other wrote.
            by_old = await _place(old_client, market)
            by_new = await _place(new_client, market)
            seen_by_new = await _order(new_client, market, by_old)
            seen_by_old = await _order(old_client, market, by_new)
            assert seen_by_new == await _order(old_client, market, by_old)
            assert seen_by_old == await _order(new_client, market, by_new)
            assert seen_by_new["total"] == seen_by_old["total"] == "5.00"
            assert await _listed(old_client, market) == {by_old, by_new}
            assert await _listed(new_client, market) == {by_old, by_new}
            assert await _confirm(old_client, market, by_new) == "confirmed"

            # Rollback: today's process stops; the previous release alone again works on
            # the rows today's code wrote, and writes new ones.
            new.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(new.wait, 40) == 128 + signal.SIGTERM
            assert await _confirm(old_client, market, by_old) == "confirmed"
            after_rollback = await _place(old_client, market)
            assert (await _order(old_client, market, by_new))["status"] == "confirmed"
            assert await _listed(old_client, market) == {by_old, by_new, after_rollback}
        old.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(old.wait, 40) == 128 + signal.SIGTERM
