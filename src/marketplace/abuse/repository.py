"""Every query of the abuse domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.abuse.models import IpRule
from marketplace.core.repository import add, keyset


async def active_rules(session: AsyncSession, now: datetime) -> Sequence[IpRule]:
    statement = select(IpRule).where(or_(IpRule.expires_at.is_(None), IpRule.expires_at > now))
    return (await session.scalars(statement)).all()


async def list_rules(
    session: AsyncSession, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> Sequence[IpRule]:
    """Newest first, keyset-paginated on (created_at, id)."""
    statement = keyset(select(IpRule), (IpRule.created_at, IpRule.id), after, limit)
    return (await session.scalars(statement)).all()


async def add_rule(session: AsyncSession, rule: IpRule) -> IpRule:
    return await add(session, rule, refresh=True)


async def delete_rule(session: AsyncSession, rule_id: uuid.UUID) -> IpRule | None:
    statement = delete(IpRule).where(IpRule.id == rule_id).returning(IpRule)
    return (await session.execute(statement)).scalar_one_or_none()
