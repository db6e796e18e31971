"""Alembic driven from code, so `serve`, `migrate`, tests and readiness share one path.

A rolling release runs two releases on one schema: the new release migrates (expand
only), and processes of the previous release keep serving until they are replaced, or
take over again on a rollback. Alembic's `alembic_version` holds only the current head,
whose id the previous release cannot know; so every migration applied is also recorded
in `migration_history` (with the release that applied it). A release is then "behind"
when its own head is not in the database yet, and "ahead" (safe to serve: expand and
contract) when the database holds a revision it does not know AND its own head was
applied before it. An unknown revision without its head in the history is "foreign"
(another branch or application): not ready.

Alembic is imported only to migrate: an API process needs this code's revisions for its
readiness check, and reads them from the scripts' text (`_revision_graph`), since
Alembic's ScriptDirectory imports Alembic, Mako and every migration module to answer
(about 11 MB of RSS in every worker that never migrates).
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace import __version__
from marketplace.core.db import create_engine
from marketplace.core.logging import get_logger

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext, MigrationInfo

logger = get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HISTORY_TABLE = "migration_history"

SchemaState = Literal["current", "pending", "ahead", "foreign"]

# Revision ids and releases go into SQL as literals (offline mode has no parameters).
_SAFE_LITERAL = re.compile(r"[\w.+-]+")


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    """Blocking; call through `asyncio.to_thread` from async code.

    A database already ahead of this code (a newer release migrated it, and this one is
    a rollback) is left alone: Alembic would refuse a head it cannot locate, and the
    previous release must start on the new schema."""
    if asyncio.run(_schema_state_at(database_url)) == "ahead":
        logger.warning("database.ahead_of_code", code_heads=sorted(head_revisions()))
        return
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


@cache
def _revision_graph() -> dict[str, frozenset[str]]:
    """Each revision this code ships, with the revisions it follows (`down_revision`),
    read from the scripts' module-level assignments without running them (see the
    module's text); tests/core/test_migrations.py holds the result to Alembic's."""
    graph: dict[str, frozenset[str]] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets: list[ast.expr] = [node.target]
                value = node.value
            elif isinstance(node, ast.Assign):
                targets = node.targets
                value = node.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    values[target.id] = ast.literal_eval(value)
        if "revision" not in values:
            continue  # not a revision script
        down = values.get("down_revision")
        follows = (down,) if isinstance(down, str) else tuple(down or ())
        graph[values["revision"]] = frozenset(follows)
    return graph


@cache
def head_revisions() -> frozenset[str]:
    graph = _revision_graph()
    followed = {revision for follows in graph.values() for revision in follows}
    return frozenset(graph.keys() - followed)


@cache
def known_revisions() -> frozenset[str]:
    """Every revision this code ships."""
    return frozenset(_revision_graph())


async def _table_exists(connection: AsyncConnection, table: str) -> bool:
    return bool(
        await connection.scalar(text("SELECT to_regclass(:table) IS NOT NULL"), {"table": table})
    )


async def current_revisions(connection: AsyncConnection) -> frozenset[str]:
    """One statement on the driver, outside a transaction: the readiness probe's whole
    work (`/health/ready`), which took five round trips as BEGIN, a `to_regclass` check,
    this SELECT and ROLLBACK. A database without the table (empty) has no revision; the
    failed statement ends no transaction, as none was begun."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    try:
        rows = await driver.fetch("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return frozenset()
    return frozenset(row[0] for row in rows)


async def applied_revisions(connection: AsyncConnection) -> frozenset[str]:
    """Every revision the database went through (empty before `migration_history`)."""
    if not await _table_exists(connection, HISTORY_TABLE):
        return frozenset()
    rows = await connection.execute(text(f"SELECT revision FROM {HISTORY_TABLE}"))
    return frozenset(row[0] for row in rows)


async def schema_state(connection: AsyncConnection) -> SchemaState:
    """The database's schema against this code's migrations (see the module's text)."""
    current = await current_revisions(connection)
    heads = head_revisions()
    if current == heads:
        return "current"
    if current <= known_revisions():
        return "pending"  # behind this code (or empty): `marketplace migrate` is due
    if heads <= await applied_revisions(connection):
        return "ahead"
    return "foreign"


async def _schema_state_at(database_url: str) -> SchemaState:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await schema_state(connection)
    finally:
        await engine.dispose()


def record_in_history(
    ctx: MigrationContext,
    step: MigrationInfo,
    heads: Collection[Any],
    run_args: Mapping[str, Any],
) -> None:
    """Alembic's `on_version_apply` hook (migrations/env.py): each revision applied is
    added to `migration_history`, each one undone removed. Before the table exists (the
    migrations older than it, which it backfills) and after its own downgrade, nothing."""
    revisions = step.up_revision_ids
    for literal in (*revisions, __version__):
        if not _SAFE_LITERAL.fullmatch(literal):
            raise ValueError(f"unexpected characters in {literal!r}")
    values = ", ".join(f"('{revision}', '{__version__}')" for revision in revisions)
    listed = ", ".join(f"'{revision}'" for revision in revisions)
    if step.is_upgrade:
        change = (
            f"INSERT INTO {HISTORY_TABLE} (revision, release) VALUES {values} "
            "ON CONFLICT (revision) DO NOTHING"
        )
    else:
        change = f"DELETE FROM {HISTORY_TABLE} WHERE revision IN ({listed})"
    # A DO block, so that the same statement works online and in `--sql` output.
    ctx.execute(
        f"DO $$ BEGIN IF to_regclass('{HISTORY_TABLE}') IS NOT NULL THEN {change}; END IF; END $$"
    )
