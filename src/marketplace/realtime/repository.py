"""Every query of live updates: who is entitled to an event, and events to replay.

Memberships are read here, read-only, because the companies domain has no query for
"members of these companies" yet; they belong there once it does.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from marketplace.companies.models import Membership
from marketplace.core.driver import DriverStatement
from marketplace.core.outbox import OutboxEvent

# Through the driver (core/driver.py): the "realtime" consumer asks this for every
# batch of events, with as many companies as the batch names; as `IN (...)` through
# SQLAlchemy each list length was a statement of its own to render and to prepare.
_MEMBERSHIPS_IN = DriverStatement(
    select(Membership.user_id, Membership.company_id)
    .where(Membership.company_id == any_(bindparam("company_ids", type_=ARRAY(Uuid))))
    .order_by(Membership.user_id, Membership.company_id)
)


async def memberships_in(
    session: AsyncSession, company_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(user id, company id) of every member of these companies."""
    if not company_ids:
        return []
    rows = await _MEMBERSHIPS_IN.fetch(session, company_ids=list(company_ids))
    return [(row["user_id"], row["company_id"]) for row in rows]


async def company_ids_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    statement = select(Membership.company_id).where(Membership.user_id == user_id)
    return list((await session.execute(statement)).scalars())


def _entitled(company_ids: Collection[uuid.UUID], is_staff: bool) -> ColumnElement[bool]:
    """Events of the user's companies; for staff also events of no company."""
    conditions: list[ColumnElement[bool]] = []
    if company_ids:
        conditions.append(
            OutboxEvent.company_ids.bool_op("&&")(literal(list(company_ids), ARRAY(Uuid)))
        )
    if is_staff:
        conditions.append(func.cardinality(OutboxEvent.company_ids) == 0)
    return or_(*conditions) if conditions else false()


async def event_position(
    session: AsyncSession,
    event_id: uuid.UUID,
    company_ids: Collection[uuid.UUID],
    is_staff: bool,
) -> tuple[int, datetime, bool] | None:
    """(seq, occurred_at, entitled) of an event in the outbox."""
    statement = select(
        OutboxEvent.seq, OutboxEvent.occurred_at, _entitled(company_ids, is_staff)
    ).where(OutboxEvent.id == event_id)
    row = (await session.execute(statement)).first()
    return (row[0], row[1], bool(row[2])) if row else None


async def events_after(
    session: AsyncSession,
    after_seq: int,
    company_ids: Collection[uuid.UUID],
    is_staff: bool,
    limit: int,
) -> list[OutboxEvent]:
    """Entitled events after an outbox position, oldest first (walks the primary key
    from that position on: cheap for the recent positions resume is for)."""
    statement = (
        select(OutboxEvent)
        .where(OutboxEvent.seq > after_seq, _entitled(company_ids, is_staff))
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())
