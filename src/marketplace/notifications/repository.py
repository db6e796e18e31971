"""Every query of the notifications domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Membership
from marketplace.core.driver import EntityQuery
from marketplace.core.outbox import OutboxEvent
from marketplace.core.repository import keyset
from marketplace.identity.models import User
from marketplace.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)

UNREAD_COUNT_CAP = 10_000


# --- recipients ----------------------------------------------------------------------
# Read-only joins on memberships and users: the companies domain has no query for
# "members of these companies with these roles" yet; these belong there once it does.


# Through the driver (core/driver.py): the "notifications" consumer asks this for
# every batch of events, with as many companies as the batch names; as `IN (...)`
# through SQLAlchemy each list length was a statement of its own to render and prepare.
_MEMBERS_OF = EntityQuery(
    (Membership, User),
    lambda columns: (
        columns.join(User, User.id == Membership.user_id)
        .where(Membership.company_id == any_(bindparam("company_ids", type_=ARRAY(Uuid))))
        .order_by(Membership.company_id, Membership.user_id)
    ),
)


async def members_of(
    session: AsyncSession, company_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, str, User]]:
    """(company id, role, user) of every member of these companies, by company and user."""
    if not company_ids:
        return []
    rows = await _MEMBERS_OF.fetch(session, company_ids=list(company_ids))
    return [(membership.company_id, membership.role, user) for membership, user in rows]


# --- preferences ---------------------------------------------------------------------


async def preferences_for(
    session: AsyncSession, user_ids: Collection[uuid.UUID], event_types: Collection[str]
) -> dict[tuple[uuid.UUID, str], NotificationPreference]:
    """(user id, event type) -> the user's choice for that type, where there is one."""
    if not user_ids or not event_types:
        return {}
    statement = select(NotificationPreference).where(
        NotificationPreference.user_id.in_(list(user_ids)),
        NotificationPreference.event_type.in_(list(event_types)),
    )
    return {
        (row.user_id, row.event_type): row for row in (await session.execute(statement)).scalars()
    }


async def preferences_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> dict[str, NotificationPreference]:
    statement = select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    return {row.event_type: row for row in (await session.execute(statement)).scalars()}


async def upsert_preference(
    session: AsyncSession, user_id: uuid.UUID, event_type: str, values: dict[str, bool | None]
) -> None:
    statement = insert(NotificationPreference).values(
        user_id=user_id, event_type=event_type, **values
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[NotificationPreference.user_id, NotificationPreference.event_type],
            set_={
                **{name: getattr(statement.excluded, name) for name in values},
                "updated_at": func.now(),
            },
        )
    )


# --- notifications -------------------------------------------------------------------


async def insert_notifications(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[Notification]:
    """Insert; a row for a (user, event) that already has one is skipped."""
    if not rows:
        return []
    statement = (
        insert(Notification)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=[Notification.user_id, Notification.event_id])
        .returning(Notification)
    )
    return list((await session.execute(statement)).scalars())


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    unread_only: bool,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Notification]:
    """Newest first, keyset on (created_at, id)."""
    conditions = [Notification.user_id == user_id]
    if unread_only:
        conditions.append(Notification.read_at.is_(None))
    statement = keyset(
        select(Notification).where(*conditions),
        (Notification.created_at, Notification.id),
        before,
        limit,
    )
    return list((await session.execute(statement)).scalars())


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
) -> Notification | None:
    """Mark one of the user's notifications read (kept as first read); None if not theirs."""
    statement = (
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, now))
        .returning(Notification)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    capped = (
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_COUNT_CAP)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(capped)) or 0)


async def notifications_after_event_seq(
    session: AsyncSession, user_id: uuid.UUID, after_seq: int, limit: int
) -> list[tuple[int, Notification]]:
    """(outbox position, notification) of the user's notifications whose event comes
    after `after_seq` in the outbox, in outbox order."""
    statement = (
        select(OutboxEvent.seq, Notification)
        .join(OutboxEvent, OutboxEvent.id == Notification.event_id)
        .where(Notification.user_id == user_id, OutboxEvent.seq > after_seq)
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def event_of_notification(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> uuid.UUID | None:
    return await session.scalar(
        select(Notification.event_id).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )


async def has_notification_for(
    session: AsyncSession, user_id: uuid.UUID, event_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(Notification.id).where(
            Notification.user_id == user_id, Notification.event_id == event_id
        )
    )
    return found is not None


# --- deliveries ----------------------------------------------------------------------


async def insert_deliveries(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[uuid.UUID]:
    if not rows:
        return []
    statement = (
        insert(NotificationDelivery)
        .values(list(rows))
        .on_conflict_do_nothing(
            index_elements=[
                NotificationDelivery.event_id,
                NotificationDelivery.user_id,
                NotificationDelivery.channel,
            ]
        )
        .returning(NotificationDelivery.id)
    )
    return list((await session.execute(statement)).scalars())


async def claim_due_deliveries(
    session: AsyncSession,
    lease: timedelta,
    limit: int,
    ids: Collection[uuid.UUID] | None = None,
) -> list[NotificationDelivery]:
    """Take pending deliveries that are due, pushing their next attempt `lease` ahead so
    no other sender takes them meanwhile (rows another sender is claiming are skipped).
    Times are the database's, like the defaults the rows were written with."""
    due = (
        select(NotificationDelivery.id)
        .where(
            NotificationDelivery.status == "pending",
            NotificationDelivery.next_attempt_at <= func.now(),
        )
        .order_by(NotificationDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        due = due.where(NotificationDelivery.id.in_(ids))
    statement = (
        update(NotificationDelivery)
        .where(NotificationDelivery.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=func.now() + lease, attempts=NotificationDelivery.attempts + 1)
        .returning(NotificationDelivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.execute(statement)).scalars())


async def mark_delivery_sent(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "pending")
        .values(status="sent", sent_at=func.now(), last_error=None)
        .execution_options(synchronize_session=False)
    )


async def mark_delivery_failed(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    error: str,
    retry_in: timedelta | None,
) -> None:
    """Record a failed attempt: retried after `retry_in`, or given up when it is None."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_in is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = func.now() + retry_in
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
