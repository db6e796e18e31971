"""Every query of the audit log. Rows are inserted, never updated or deleted.

Tenant scoping: every listing goes through the tenancy gate (`AuditEvent.__tenancy__`:
a row concerns the companies in `company_ids`); staff reading for no company read all,
optionally narrowed to the events concerning one company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.models import AuditEvent
from marketplace.audit.schemas import AuditFilter
from marketplace.core.driver import DriverStatement
from marketplace.core.pagination import TimeKeyset
from marketplace.core.repository import keyset
from marketplace.core.tenancy import Who, readable, readable_by

# Every column but recorded_at (the database's clock); a recorded event is left as is.
_INSERT = DriverStatement(
    insert(AuditEvent)
    .values(
        {
            column.key: bindparam(column.key, type_=column.type)
            for column in AuditEvent.__table__.columns
            if column.key != "recorded_at"
        }
    )
    .on_conflict_do_nothing(index_elements=[AuditEvent.event_id])
)


async def insert_once(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record events not recorded yet: one statement, run once per row, pipelined."""
    await _INSERT.executemany(session, rows)


def _conditions(where: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.company_id is not None:
        conditions.append(readable_by(AuditEvent, where.company_id))
    if where.action is not None:
        if "." in where.action:
            conditions.append(AuditEvent.action == where.action)
        else:
            # A family: "order" is every "order.*"; the filter's pattern has no wildcards.
            conditions.append(AuditEvent.action.startswith(where.action + ".", autoescape=True))
    if where.actor_user_id is not None:
        conditions.append(AuditEvent.actor_user_id == where.actor_user_id)
    if where.actor_api_key_id is not None:
        conditions.append(AuditEvent.actor_api_key_id == where.actor_api_key_id)
    if where.target_type is not None:
        conditions.append(AuditEvent.target_type == where.target_type)
    if where.target_id is not None:
        conditions.append(AuditEvent.target_id == where.target_id)
    if where.since is not None:
        conditions.append(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        conditions.append(AuditEvent.occurred_at < where.until)
    return conditions


async def list_events(
    session: AsyncSession, who: Who, where: AuditFilter, before: TimeKeyset | None, limit: int
) -> list[AuditEvent]:
    """Newest first; `before` is the (occurred_at, id) of the last row already served."""
    statement = readable(select(AuditEvent), AuditEvent, who).where(*_conditions(where))
    statement = keyset(statement, (AuditEvent.occurred_at, AuditEvent.id), before, limit)
    return list((await session.execute(statement)).scalars())
