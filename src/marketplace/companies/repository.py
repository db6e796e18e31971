"""Every query of the companies domain. Company scoping goes through `membership_of`
for the caller and through a `company_id` condition on every tenant query.

Lists are keyset-paginated on `(created_at, id)`; `after` is the key of the last item
of the previous page.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Uuid, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import (
    Company,
    CompanyAddress,
    Invitation,
    Membership,
    VerificationEvent,
)
from marketplace.core.access import ActingCompany, MemberOf
from marketplace.core.driver import EntityQuery
from marketplace.core.pagination import TimeKeyset
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.core.repository import keyset
from marketplace.identity.models import AuthSession, User


async def names_of(session: AsyncSession, company_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not company_ids:
        return {}
    rows = await session.execute(
        select(Company.id, Company.name).where(Company.id.in_(company_ids))
    )
    return dict(rows.all())


# --- companies and memberships of a user ------------------------------------------


# Through the driver: every request that acts for a company asks this.
_MEMBERSHIP = EntityQuery(
    (Membership, Company),
    lambda columns: columns.join(Company, Company.id == Membership.company_id).where(
        Membership.company_id == bindparam("company_id", type_=Uuid),
        Membership.user_id == bindparam("user_id", type_=Uuid),
    ),
)


async def membership_of(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, Company] | None:
    """The user's membership in the company, or None: the one tenant gate."""
    rows = await _MEMBERSHIP.fetch(session, company_id=company_id, user_id=user_id)
    return (rows[0][0], rows[0][1]) if rows else None


# Through the driver: every signed-in read that names no company asks this.
_MEMBERSHIPS_OF_USER = EntityQuery(
    (Membership, Company),
    lambda columns: (
        columns.join(Company, Company.id == Membership.company_id)
        .where(Membership.user_id == bindparam("user_id", type_=Uuid))
        .order_by(Company.name, Company.id)
    ),
)


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Membership, Company]]:
    rows = await _MEMBERSHIPS_OF_USER.fetch(session, user_id=user_id)
    return [(row[0], row[1]) for row in rows]


# Through the driver: every write of a signed-in user authenticates with this, its
# session, its user and its memberships in one statement (identity's
# `ActiveSessionLoader`): one round trip instead of two (the session, then the
# membership acted for) on every order, cart change and checkout (bench/README.md).
_MEMBER_COLUMNS: tuple[ColumnElement[Any], ...] = (
    Company.__table__.c.id,
    Company.__table__.c.kind,
    Company.__table__.c.name,
    Company.__table__.c.country,
    Membership.__table__.c.role,
    Membership.__table__.c.spending_limit,
    Membership.__table__.c.monthly_budget,
)


def _session_with_memberships(*conditions: ColumnElement[bool]) -> EntityQuery:
    return EntityQuery(
        (AuthSession, User),
        lambda columns: (
            columns.select_from(AuthSession)
            .join(User, User.id == AuthSession.user_id)
            .outerjoin(Membership, Membership.user_id == User.id)
            .outerjoin(Company, Company.id == Membership.company_id)
            .where(
                *conditions,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > bindparam("now", type_=DateTime(timezone=True)),
            )
            .order_by(Company.name, Company.id)  # `memberships_of_user`'s order
        ),
        extra=_MEMBER_COLUMNS,
    )


_SESSION_WITH_MEMBERSHIPS = _session_with_memberships(
    AuthSession.id == bindparam("session_id", type_=Uuid)
)
_BROWSER_SESSION_WITH_MEMBERSHIPS = _session_with_memberships(
    AuthSession.cookie_secret_hash == bindparam("cookie_secret_hash"),
    AuthSession.kind == "browser",
)


async def active_session_with_memberships(
    session: AsyncSession,
    now: datetime,
    *,
    session_id: uuid.UUID | None = None,
    cookie_secret_hash: str | None = None,
) -> tuple[AuthSession, User, tuple[MemberOf, ...]] | None:
    """The active sign-in session named by its id or by its cookie's digest, its user,
    and the user's memberships as values, in `memberships_of_user`'s order."""
    if session_id is not None:
        rows = await _SESSION_WITH_MEMBERSHIPS.fetch(session, session_id=session_id, now=now)
    else:
        rows = await _BROWSER_SESSION_WITH_MEMBERSHIPS.fetch(
            session, cookie_secret_hash=cookie_secret_hash, now=now
        )
    if not rows:
        return None
    memberships = tuple(
        MemberOf(
            company=ActingCompany(id=company_id, kind=kind, name=name, country=country),
            role=role,
            spending_limit=spending_limit,
            monthly_budget=monthly_budget,
        )
        for _, _, company_id, kind, name, country, role, spending_limit, monthly_budget in rows
        if company_id is not None
    )
    return rows[0][0], rows[0][1], memberships


async def get_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    return await session.get(Company, company_id)


async def lock_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    """The company row, locked until the end of the transaction and freshly read.

    `FOR NO KEY UPDATE`: serialises changes of the company itself without blocking
    rows that merely reference it (memberships, addresses).
    """
    statement = (
        select(Company)
        .where(Company.id == company_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_companies(
    session: AsyncSession, verification_status: str | None, after: TimeKeyset | None, limit: int
) -> list[Company]:
    statement = select(Company)
    if verification_status is not None:
        statement = statement.where(Company.verification_status == verification_status)
    statement = keyset(statement, (Company.created_at, Company.id), after, limit, descending=False)
    return list((await session.execute(statement)).scalars())


async def verification_history(
    session: AsyncSession, company_id: uuid.UUID
) -> list[VerificationEvent]:
    statement = (
        select(VerificationEvent)
        .where(VerificationEvent.company_id == company_id)
        .order_by(VerificationEvent.created_at, VerificationEvent.id)
    )
    return list((await session.execute(statement)).scalars())


# --- members ----------------------------------------------------------------------


async def list_members(
    session: AsyncSession, company_id: uuid.UUID, after: TimeKeyset | None, limit: int
) -> list[tuple[Membership, User]]:
    # A read-only join on users: one query per page instead of one per member.
    statement = keyset(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.company_id == company_id),
        (Membership.created_at, Membership.id),
        after,
        limit,
        descending=False,
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def member_with_user(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User] | None:
    statement = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.company_id == company_id, Membership.user_id == user_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def lock_owners(session: AsyncSession, company_id: uuid.UUID) -> list[Membership]:
    """The company's owner memberships, locked in id order.

    Every change that can take the owner role away locks these rows first and in the
    same order, so such changes run one after another without deadlocks, and a count
    taken under the lock stays true until commit (the last owner is never removed).
    Rows that stopped being owners while we waited are re-checked out by PostgreSQL.
    """
    statement = (
        select(Membership)
        .where(Membership.company_id == company_id, Membership.role == "owner")
        .order_by(Membership.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(statement)).scalars())


async def lock_membership(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    statement = (
        select(Membership)
        .where(Membership.company_id == company_id, Membership.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def delete_membership(session: AsyncSession, membership_id: uuid.UUID) -> None:
    await session.execute(delete(Membership).where(Membership.id == membership_id))


async def add_membership_if_absent(
    session: AsyncSession,
    company_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    spending_limit: Decimal | None,
) -> bool:
    statement = (
        insert(Membership)
        .values(company_id=company_id, user_id=user_id, role=role, spending_limit=spending_limit)
        .on_conflict_do_nothing(index_elements=["company_id", "user_id"])
        .returning(Membership.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def has_member_with_contact(
    session: AsyncSession, company_id: uuid.UUID, channel: str, destination: str
) -> bool:
    column = User.email if channel == "email" else User.phone
    statement = (
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.company_id == company_id, column == destination)
    )
    return (await session.execute(statement)).first() is not None


# --- addresses --------------------------------------------------------------------


async def list_addresses(
    session: AsyncSession, company_id: uuid.UUID, after: TimeKeyset | None, limit: int
) -> list[CompanyAddress]:
    statement = keyset(
        select(CompanyAddress).where(CompanyAddress.company_id == company_id),
        (CompanyAddress.created_at, CompanyAddress.id),
        after,
        limit,
        descending=False,
    )
    return list((await session.execute(statement)).scalars())


async def get_address(
    session: AsyncSession, company_id: uuid.UUID, address_id: uuid.UUID
) -> CompanyAddress | None:
    statement = select(CompanyAddress).where(
        CompanyAddress.company_id == company_id, CompanyAddress.id == address_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def clear_default_shipping(
    session: AsyncSession, company_id: uuid.UUID, keep_id: uuid.UUID | None
) -> None:
    statement = update(CompanyAddress).where(
        CompanyAddress.company_id == company_id, CompanyAddress.is_default_shipping.is_(True)
    )
    if keep_id is not None:
        statement = statement.where(CompanyAddress.id != keep_id)
    await session.execute(
        statement.values(is_default_shipping=False).execution_options(synchronize_session="fetch")
    )


async def delete_address(session: AsyncSession, address_id: uuid.UUID) -> None:
    await session.execute(delete(CompanyAddress).where(CompanyAddress.id == address_id))


# --- invitations ------------------------------------------------------------------


def _pending(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )


async def list_pending_invitations(
    session: AsyncSession,
    company_id: uuid.UUID,
    now: datetime,
    after: TimeKeyset | None,
    limit: int,
) -> list[Invitation]:
    statement = keyset(
        select(Invitation).where(Invitation.company_id == company_id, *_pending(now)),
        (Invitation.created_at, Invitation.id),
        after,
        limit,
        descending=False,
    )
    return list((await session.execute(statement)).scalars())


async def lock_pending_invitation(
    session: AsyncSession, company_id: uuid.UUID, invitation_id: uuid.UUID, now: datetime
) -> Invitation | None:
    statement = (
        select(Invitation)
        .where(Invitation.company_id == company_id, Invitation.id == invitation_id, *_pending(now))
        .with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_pending_invitation_by_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> Invitation | None:
    statement = (
        select(Invitation)
        .where(Invitation.token_hash == token_hash, *_pending(now))
        .with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def pending_invitations_for(
    session: AsyncSession, channel: str, destination: str, now: datetime
) -> list[Invitation]:
    statement = (
        select(Invitation)
        .where(
            Invitation.channel == channel,
            Invitation.destination == destination,
            *_pending(now),
        )
        .order_by(Invitation.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def revoke_pending_invitations_to(
    session: AsyncSession, company_id: uuid.UUID, channel: str, destination: str, now: datetime
) -> None:
    await session.execute(
        update(Invitation)
        .where(
            Invitation.company_id == company_id,
            Invitation.channel == channel,
            Invitation.destination == destination,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_invitation(session: AsyncSession, invitation_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_invitation_accepted(
    session: AsyncSession, invitation_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(accepted_at=now, accepted_by_user_id=user_id)
        .execution_options(synchronize_session=False)
    )
