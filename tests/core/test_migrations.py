"""Migrations form one line, and every one of them can be undone and redone."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory

from marketplace.core.migrations import (
    alembic_config,
    head_revisions,
    known_revisions,
    upgrade_to_head,
)
from tests.conftest import _database_url_on


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    assert len(script.get_heads()) == 1, "two migrations claim the same parent: rebase one"


def test_the_revisions_read_from_the_scripts_text_are_alembics() -> None:
    """Readiness reads the revisions without Alembic (see core/migrations.py): the same
    heads and the same revisions as Alembic's own reading of the scripts."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    assert head_revisions() == frozenset(script.get_heads())
    assert known_revisions() == {revision.revision for revision in script.walk_revisions()}


def test_downgrade_to_base_and_upgrade_again(postgres_server_url: str) -> None:
    name = f"mp_test_roundtrip_{uuid.uuid4().hex[:6]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(postgres_server_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def tables(url: str) -> set[str]:
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            return {row[0] for row in rows}
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = _database_url_on(postgres_server_url, name)
        upgrade_to_head(url)
        migrated = asyncio.run(tables(url))
        command.downgrade(alembic_config(url), "base")
        assert asyncio.run(tables(url)) == {"alembic_version"}
        upgrade_to_head(url)
        assert asyncio.run(tables(url)) == migrated
        assert head_revisions()
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
