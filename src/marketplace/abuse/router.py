"""Staff endpoints: IP allow/deny rules and automatic blocks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request, status
from pydantic import IPvAnyAddress

from marketplace.abuse import service
from marketplace.abuse.schemas import IpBlockRead, IpRuleCreate, IpRuleRead
from marketplace.core.client_ip import client_ip
from marketplace.core.deps import PlatformDep, SessionDep
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.identity.deps import CurrentStaff

admin_router = APIRouter(prefix="/admin", tags=["admin"])

BlockedAddress = Annotated[
    IPvAnyAddress, Path(description="The address (an IPv6 address stands for its /64).")
]


@admin_router.get("/ip-rules", response_model=Page[IpRuleRead])
async def list_ip_rules(
    staff: CurrentStaff, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[IpRuleRead]:
    """Every IP rule, newest first, expired ones included (see `expires_at`)."""
    return await service.list_rules(session, limit, cursor)


@admin_router.post("/ip-rules", status_code=status.HTTP_201_CREATED, response_model=IpRuleRead)
async def create_ip_rule(
    body: IpRuleCreate,
    staff: CurrentStaff,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    background: BackgroundTasks,
) -> IpRuleRead:
    """Deny an address or network, or allow it: an allowed address is exempt from deny
    rules, automatic blocks and the per-address rate limit (offices, monitoring).
    Applies at once on every instance. A rule that would deny your own address is
    refused (409)."""
    rule = await service.create_rule(
        session, platform, body, staff.user.id, client_ip(request.scope)
    )
    background.add_task(service.invalidate_rules, platform)  # again, after the commit
    return rule


@admin_router.delete("/ip-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_ip_rule(
    rule_id: uuid.UUID,
    staff: CurrentStaff,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    background: BackgroundTasks,
) -> None:
    """Remove a rule; applies at once on every instance."""
    await service.delete_rule(session, platform, rule_id, staff.user.id, client_ip(request.scope))
    background.add_task(service.invalidate_rules, platform)  # again, after the commit


@admin_router.get("/ip-blocks/{ip}", response_model=IpBlockRead)
async def get_ip_block(
    ip: BlockedAddress, staff: CurrentStaff, platform: PlatformDep
) -> IpBlockRead:
    """Whether an address is automatically blocked, why, and for how long (404 if not)."""
    return await service.describe_block(platform, str(ip))


@admin_router.delete("/ip-blocks/{ip}", status_code=status.HTTP_204_NO_CONTENT)
async def lift_ip_block(
    ip: BlockedAddress, staff: CurrentStaff, session: SessionDep, platform: PlatformDep
) -> None:
    """Lift an automatic block now and forget the address's offences (404 if not blocked)."""
    await service.unblock(session, platform, str(ip), staff.user.id)
