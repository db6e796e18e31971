"""`marketplace backup` and `marketplace restore` on a populated marketplace: the demo data,
orders, an RFQ with a quote, message threads with attachments; restored into a fresh
database and STORAGE_DIR, compared row for row and byte for byte."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from marketplace.cli import app
from marketplace.core import backup as backups
from marketplace.core.platform import Platform
from tests.conftest import (
    _database_url_on,
    client_for,
    create_migrated_database,
    drop_database,
    make_settings,
    started_app,
)
from tests.messaging.conftest import PDF, PNG, open_rfq
from tests.test_demo import _admin
from tests.trade.conftest import build_market, order_body
from tests.trade.test_rfqs import future

runner = CliRunner()
NewDatabase = Callable[[], str]


@pytest.fixture(scope="module")
def new_database(postgres_server_url: str) -> Iterator[NewDatabase]:
    """Empty databases of this module's own, dropped at its end."""
    names: list[str] = []

    def create() -> str:
        name = f"mp_test_backup_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
        names.append(name)
        return _database_url_on(postgres_server_url, name)

    yield create
    for name in names:
        asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "AMQP_URL", "ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)  # no stray .env


def invoke(monkeypatch: pytest.MonkeyPatch, url: str, storage: Path, *arguments: str) -> Any:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STORAGE_DIR", str(storage))
    return runner.invoke(app, list(arguments))


async def _trade(url: str, storage: Path) -> None:
    """Orders, an RFQ with a quote, and threads with attachments, through the API."""
    settings = make_settings(database_url=url, storage_dir=storage)
    async for application in started_app(settings):
        platform: Platform = application.state.platform
        async with platform.database.session_factory() as session:
            market = await build_market(application, session)
            await session.commit()
        async with client_for(application) as client:
            orders = []
            for product, quantity in ((market.bolts, 100), (market.nuts, 5)):
                placed = await client.post(
                    "/api/v1/orders",
                    json=order_body((product, quantity)),
                    headers=market.headers["owner"],
                )
                assert placed.status_code == 201, placed.text
                orders.append(placed.json())
            rfq = await open_rfq(client, market)
            quoted = await client.post(
                f"/api/v1/rfqs/{rfq['id']}/quotes",
                json={
                    "items": [{"rfq_item_id": rfq["items"][0]["id"], "unit_price": "0.31"}],
                    "valid_until": future(14),
                    "lead_time_days": 5,
                    "payment_terms": "net_30",
                },
                headers=market.headers["supplier"],
            )
            assert quoted.status_code == 201, quoted.text
            for subject in (
                {"subject_type": "order", "subject_id": orders[0]["id"]},
                {
                    "subject_type": "rfq",
                    "subject_id": rfq["id"],
                    "supplier_id": str(market.supplier.id),
                },
            ):
                thread = await client.post(
                    "/api/v1/threads", json=subject, headers=market.headers["purchaser"]
                )
                assert thread.status_code == 201, thread.text
                for who, files in (
                    ("purchaser", [("files", ("spec.pdf", PDF, "application/pdf"))]),
                    ("supplier", [("files", ("photo.png", PNG, "image/png"))]),
                ):
                    posted = await client.post(
                        f"/api/v1/threads/{thread.json()['id']}/messages",
                        data={"body": f"{subject['subject_type']} note from {who}"},
                        files=files,
                        headers=market.headers[who],
                    )
                    assert posted.status_code == 201, posted.text
        # Let the in-process consumers finish (notifications, audit): the backup then
        # sees a quiet database, and so does the comparison afterwards.
        await application.state.events.relay.run_once()


async def _contents(url: str) -> dict[str, list[str]]:
    """Every table's rows (as text, sorted) and every sequence's position."""
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
        contents = {
            row["name"]: sorted(
                record[0]
                for record in await connection.fetch(f"SELECT t::text FROM {row['name']} t")
            )
            for row in tables
        }
        sequences = await connection.fetch(
            "SELECT format('%I.%I', schemaname, sequencename) AS name, last_value"
            " FROM pg_sequences ORDER BY 1"
        )
        contents["<sequences>"] = [f"{row['name']}={row['last_value']}" for row in sequences]
        return contents
    finally:
        await connection.close()


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


async def _relations(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public'"
            )
        )
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def populated(
    postgres_server_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """A marketplace with demo data and trade, and one backup of it (made once: tests
    that change the backup work on a copy). Its database starts migrated: `demo` finds it
    at head."""
    folder = tmp_path_factory.mktemp("populated")
    url = asyncio.run(create_migrated_database(postgres_server_url, migrated_template, "backup"))
    storage = folder / "storage"
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            for name in ("REDIS_URL", "AMQP_URL", "ENVIRONMENT", "SECRET_KEY"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("LOG_LEVEL", "WARNING")
            monkeypatch.setenv("AUTH_OTP_BYPASS_CODE", "000000")
            monkeypatch.chdir(folder)
            loaded = invoke(monkeypatch, url, storage, "demo", "--products-per-supplier", "4")
            assert loaded.exit_code == 0, loaded.output
            asyncio.run(_trade(url, storage))
            made = invoke(monkeypatch, url, storage, "backup", str(folder / "backups"))
            assert made.exit_code == 0, made.output
            [backup] = backups.list_backups(folder / "backups")
            assert f"Backup written to {backup}" in made.output
            yield url, storage, backup
    finally:
        asyncio.run(drop_database(postgres_server_url, url))


def test_a_restored_backup_equals_the_marketplace_row_for_row_and_byte_for_byte(
    populated: tuple[str, Path, Path],
    new_database: NewDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source_url, source_storage, backup = populated
    source = asyncio.run(_contents(source_url))
    # What makes the comparison worth something: the data the issue names is there.
    for table, at_least in {
        "public.products": 28,
        "public.product_images": 28,
        "public.orders": 2,
        "public.rfqs": 1,
        "public.quotes": 1,
        "public.messages": 4,
        "public.notifications": 1,
    }.items():
        assert len(source[table]) >= at_least, table
    source_files = _files(source_storage)
    assert len([name for name in source_files if name.startswith("threads/")]) == 4
    manifest = json.loads((backup / backups.MANIFEST_FILE).read_text())
    assert manifest["tables"] == {
        name: len(rows) for name, rows in source.items() if name != "<sequences>"
    }
    assert set(manifest["files"]) == set(source_files)

    target_url, target_storage = new_database(), tmp_path / "restored"
    restored = invoke(monkeypatch, target_url, target_storage, "restore", str(backup))

    assert restored.exit_code == 0, restored.output
    assert "all matching the manifest" in restored.output
    assert asyncio.run(_contents(target_url)) == source
    assert _files(target_storage) == source_files


def test_restore_refuses_a_target_that_holds_data_unless_forced(
    populated: tuple[str, Path, Path],
    new_database: NewDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _source_url, _source_storage, backup = populated
    target_url, target_storage = new_database(), tmp_path / "occupied"
    target_storage.mkdir()
    (target_storage / "keep.txt").write_bytes(b"someone's file")
    asyncio.run(
        _admin(target_url, "CREATE TABLE precious (id int); INSERT INTO precious VALUES (1)")
    )

    refused = invoke(monkeypatch, target_url, target_storage, "restore", str(backup))

    assert refused.exit_code == 1
    assert "refusing to restore over existing data" in refused.output
    assert "use --force" in refused.output
    assert asyncio.run(_relations(target_url)) == 1  # only `precious`, untouched
    assert _files(target_storage) == {"keep.txt": b"someone's file"}

    forced = invoke(monkeypatch, target_url, target_storage, "restore", "--force", str(backup))

    assert forced.exit_code == 0, forced.output
    assert "keep.txt" not in _files(target_storage)
    assert asyncio.run(_contents(target_url)) == asyncio.run(_contents(_source_url))


def test_a_damaged_backup_fails_verification_and_changes_nothing(
    populated: tuple[str, Path, Path],
    new_database: NewDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup = tmp_path / populated[2].name
    shutil.copytree(populated[2], backup)
    dump = backup / backups.DATABASE_FILE
    original = dump.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged))
    target_url, target_storage = new_database(), tmp_path / "restored"

    refused = invoke(monkeypatch, target_url, target_storage, "restore", str(backup))

    assert refused.exit_code == 1
    assert "database.dump does not match its checksum in the manifest" in refused.output
    assert asyncio.run(_relations(target_url)) == 0
    assert not target_storage.exists()

    # Archives intact but a manifest that disagrees with them: caught after restoring.
    dump.write_bytes(original)
    manifest = json.loads((backup / backups.MANIFEST_FILE).read_text())
    manifest["tables"]["public.orders"] += 1
    some_file = sorted(manifest["files"])[0]
    manifest["files"][some_file]["sha256"] = "0" * 64
    (backup / backups.MANIFEST_FILE).write_text(json.dumps(manifest))

    mismatched = invoke(monkeypatch, target_url, target_storage, "restore", str(backup))

    assert mismatched.exit_code == 1
    assert "failed verification" in mismatched.output
    orders = manifest["tables"]["public.orders"]
    assert f"table public.orders has {orders - 1} rows, the backup has {orders}" in (
        mismatched.output
    )
    assert f"file {some_file} does not match its checksum" in mismatched.output


def test_backup_keeps_the_newest_backups_and_ignores_unfinished_ones(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "backups"
    directory.mkdir()
    unfinished = directory / "marketplace-20200101T000000Z.partial"
    unfinished.mkdir()
    made = []
    for _ in range(3):
        result = invoke(monkeypatch, database_url, tmp_path / "storage", "backup", str(directory))
        assert result.exit_code == 0, result.output
        made.append(backups.list_backups(directory)[-1])

    result = invoke(
        monkeypatch, database_url, tmp_path / "storage", "backup", str(directory), "--keep", "2"
    )

    assert result.exit_code == 0, result.output
    newest = backups.list_backups(directory)[-1]
    assert backups.list_backups(directory) == [made[2], newest]
    assert f"Removed old backup {made[0]}." in result.output
    assert f"Removed old backup {made[1]}." in result.output
    assert unfinished.is_dir()  # not a backup: never counted, never removed


def test_client_tools_match_the_server_or_are_newer(tmp_path: Path) -> None:
    tool = backups.client_tool("pg_dump", 15)
    assert backups._major_of(tool) == 15
    with pytest.raises(backups.BackupError, match="POSTGRES_BIN_DIR"):
        backups.client_tool("pg_dump", 15, tmp_path)
    with pytest.raises(backups.BackupError, match="no pg_dump of PostgreSQL 99 or newer"):
        backups.client_tool("pg_dump", 99)


@pytest.mark.slow
def test_backup_and_restore_work_with_the_embedded_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DATABASE_URL: both commands start the embedded server, and its own client
    tools (a newer PostgreSQL than Debian's) dump and restore it."""
    monkeypatch.setenv("EMBEDDED_POSTGRES_DATA_DIR", str(tmp_path / "pgdata"))
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "storage"))
    (tmp_path / "storage" / "products").mkdir(parents=True)
    (tmp_path / "storage" / "products" / "a.png").write_bytes(PNG)
    assert runner.invoke(app, ["migrate"]).exit_code == 0

    made = runner.invoke(app, ["backup", str(tmp_path / "backups")])

    assert made.exit_code == 0, made.output
    [backup] = backups.list_backups(tmp_path / "backups")
    manifest = json.loads((backup / backups.MANIFEST_FILE).read_text())
    assert "embedded_postgres" in manifest["pg_dump"]
    monkeypatch.setenv("EMBEDDED_POSTGRES_DATABASE", "restored")
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "restored"))

    restored = runner.invoke(app, ["restore", str(backup)])

    assert restored.exit_code == 0, restored.output
    assert f"{len(manifest['tables'])} tables" in restored.output
    assert _files(tmp_path / "restored") == {"products/a.png": PNG}
