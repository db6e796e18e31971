"""`/audit-events` (a company's own log) and `/admin/audit-events` (staff, everything).

A company's log is read by its owners and admins; no API key scope grants it, so a
leaked integration key cannot learn who in the company did what.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from marketplace.audit import service
from marketplace.audit.errors import InvalidTimeRange
from marketplace.audit.schemas import AdminAuditEventRead, AuditEventRead, AuditFilter
from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import SessionDep
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.identity.deps import StaffReader

audit_router = APIRouter(prefix="/audit-events", tags=["audit"])
admin_audit_router = APIRouter(prefix="/admin/audit-events", tags=["admin"])

# An event type ("order.placed") or a family ("order"): letters and underscores.
_ACTION_PATTERN = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)?$"


def audit_filter(
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=_ACTION_PATTERN,
            description="An event type (`order.placed`) or a family (`order`: every `order.*`).",
        ),
    ] = None,
    actor_user_id: Annotated[uuid.UUID | None, Query(description="Who acted.")] = None,
    actor_api_key_id: Annotated[
        uuid.UUID | None, Query(description="The API key that acted.")
    ] = None,
    target_type: Annotated[
        str | None,
        Query(max_length=50, pattern=r"^[a-z][a-z_]*$", description="e.g. `order`, `member`."),
    ] = None,
    target_id: Annotated[uuid.UUID | None, Query()] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="From this time on (inclusive, with zone).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Before this time (exclusive, with zone).")
    ] = None,
) -> AuditFilter:
    if since is not None and until is not None and since >= until:
        raise InvalidTimeRange()
    return AuditFilter(
        action=action,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )


Filters = Annotated[AuditFilter, Depends(audit_filter)]


@audit_router.get("", response_model=Page[AuditEventRead])
async def list_audit_events(
    actor: Annotated[Actor, acting(Action.AUDIT_READ)],
    session: SessionDep,
    where: Filters,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    """Your company's audit log, newest first: every change to its data, members,
    roles, API keys, webhooks, orders, RFQs and quotes, and every staff action on it,
    with who did it (user or API key), from which request and address, and what
    changed. Owners and admins only."""
    return await service.list_for_company(session, actor, where, limit, cursor)


@admin_audit_router.get("", response_model=Page[AdminAuditEventRead])
async def list_all_audit_events(
    staff: StaffReader,
    session: SessionDep,
    where: Filters,
    company_id: Annotated[
        uuid.UUID | None, Query(description="Only events concerning this company.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminAuditEventRead]:
    """The whole audit log (staff only), newest first, platform-only events (staff
    access, the category tree) included."""
    scoped = replace(where, company_id=company_id)
    return await service.list_all(session, staff, scoped, limit, cursor)
