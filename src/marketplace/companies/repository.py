"""Every query of the companies domain. Company scoping goes through `membership_of`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company, Invitation, Membership


async def membership_of(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, Company] | None:
    """The user's membership in the company, or None: the one tenant gate."""
    statement = (
        select(Membership, Company)
        .join(Company, Company.id == Membership.company_id)
        .where(Membership.company_id == company_id, Membership.user_id == user_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Membership, Company]]:
    statement = (
        select(Membership, Company)
        .join(Company, Company.id == Membership.company_id)
        .where(Membership.user_id == user_id)
        .order_by(Company.name, Company.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def get_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    return await session.get(Company, company_id)


async def pending_invitations_for(
    session: AsyncSession, channel: str, destination: str, now: datetime
) -> list[Invitation]:
    statement = (
        select(Invitation)
        .where(
            Invitation.channel == channel,
            Invitation.destination == destination,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def add_membership_if_absent(
    session: AsyncSession,
    company_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    spending_limit: object | None,
) -> bool:
    statement = (
        insert(Membership)
        .values(company_id=company_id, user_id=user_id, role=role, spending_limit=spending_limit)
        .on_conflict_do_nothing(index_elements=["company_id", "user_id"])
        .returning(Membership.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def mark_invitation_accepted(
    session: AsyncSession, invitation_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(accepted_at=now, accepted_by_user_id=user_id)
    )


async def count_owners(session: AsyncSession, company_id: uuid.UUID) -> int:
    statement = select(func.count()).where(
        Membership.company_id == company_id, Membership.role == "owner"
    )
    return int(await session.scalar(statement) or 0)
