"""Business rules of companies, memberships, invitations and verification."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies import repository
from marketplace.companies.models import Company, Membership


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Membership, Company]]:
    return await repository.memberships_of_user(session, user_id)


async def membership_of(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, Company] | None:
    return await repository.membership_of(session, company_id, user_id)


async def accept_invitations_on_sign_in(
    session: AsyncSession, user_id: uuid.UUID, channel: str, destination: str
) -> int:
    """A signed-in user joins every company that invited their verified contact."""
    now = datetime.now(UTC)
    accepted = 0
    for invitation in await repository.pending_invitations_for(session, channel, destination, now):
        await repository.add_membership_if_absent(
            session, invitation.company_id, user_id, invitation.role, invitation.spending_limit
        )
        await repository.mark_invitation_accepted(session, invitation.id, user_id, now)
        accepted += 1
    return accepted


async def get_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    return await repository.get_company(session, company_id)
