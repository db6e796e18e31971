"""Platform staff: who may verify companies, moderate and administer the platform.

The staff flag lives on the user (identity); this domain decides who may change it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.cache import Cache
from marketplace.core.events import emit
from marketplace.identity import service as identity
from marketplace.identity.contacts import Channel
from marketplace.identity.errors import UserNotFound
from marketplace.identity.models import User
from marketplace.staff.errors import CannotRevokeOwnStaff
from marketplace.staff.events import StaffGranted, StaffRevoked


async def set_staff(
    session: AsyncSession,
    cache: Cache,
    acting_user_id: uuid.UUID,
    user_id: uuid.UUID,
    is_staff: bool,
) -> None:
    """Grant or revoke staff access. Nobody revokes their own: the platform can never
    lock itself out by accident, and removing a staff member takes a second person."""
    if not is_staff and user_id == acting_user_id:
        raise CannotRevokeOwnStaff()
    user = await identity.get_user(session, user_id)
    if user is None:
        raise UserNotFound()
    await session.refresh(user, ["is_staff"])  # the flag as stored now, not as cached
    if user.is_staff != is_staff:
        await identity.set_staff(session, cache, user_id, is_staff)
        event = StaffGranted if is_staff else StaffRevoked
        await emit(session, event(user_id=user_id))


async def create_staff(session: AsyncSession, channel: Channel, destination: str) -> User:
    """Find or create the user with this (normalised) e-mail address or phone number
    and make them staff: the `create-staff` command, the way to the first staff member."""
    user = await identity.find_or_create_user(session, channel, destination)
    if not user.is_staff:
        # Outside the service: a grant, seen by cached reads within their short life.
        await identity.set_staff(session, None, user.id, True)
        await emit(session, StaffGranted(user_id=user.id))
    return user
