"""Alembic environment: async engine, URL from the caller (`marketplace migrate`)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from marketplace.all_models import Base
from marketplace.core.db import create_engine, to_async_url
from marketplace.core.migrations import record_in_history

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        # `alembic` run by hand during development: same variable as the service.
        url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError("No database URL: set DATABASE_URL or use `marketplace migrate`")
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=to_async_url(_database_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        on_version_apply=record_in_history,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # Every revision applied is recorded with its release: readiness tells a
        # database ahead of this code from a foreign one (core/migrations.py).
        on_version_apply=record_in_history,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        # Serialise concurrent migrators (several API processes starting at once); a
        # transaction-level lock is released by the commit or the rollback.
        await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
