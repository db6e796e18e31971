"""Staff management: grant and revoke the staff flag (staff only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from marketplace.core.deps import CacheDep, SessionDep
from marketplace.core.openapi import problems
from marketplace.identity.deps import CurrentStaff
from marketplace.staff import service
from marketplace.staff.schemas import StaffStatus

staff_router = APIRouter(prefix="/admin/users", tags=["admin"])


@staff_router.post("/{user_id}/staff", response_model=StaffStatus)
async def grant_staff(
    user_id: uuid.UUID, staff: CurrentStaff, session: SessionDep, cache: CacheDep
) -> StaffStatus:
    """Make a user platform staff."""
    await service.set_staff(session, cache, staff.user.id, user_id, True)
    return StaffStatus(user_id=user_id, is_staff=True)


@staff_router.delete("/{user_id}/staff", response_model=StaffStatus, responses=problems(409))
async def revoke_staff(
    user_id: uuid.UUID, staff: CurrentStaff, session: SessionDep, cache: CacheDep
) -> StaffStatus:
    """Take staff access away from a user (not from yourself)."""
    await service.set_staff(session, cache, staff.user.id, user_id, False)
    return StaffStatus(user_id=user_id, is_staff=False)
