"""Who takes part in conversations: a company's member or API key, or staff reading."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from marketplace.companies.deps import header_company_id, resolve_actor
from marketplace.core.access import Viewer
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import CurrentPrincipal


async def get_participant(
    session: SessionDep,
    principal: CurrentPrincipal,
    x_company_id: Annotated[
        str | None,
        Header(description="The company you act for (optional with one; staff omit it)."),
    ] = None,
) -> Viewer:
    """The acting company (as everywhere); a staff user who names no company reads every
    thread as staff, read-only."""
    company_id = header_company_id(x_company_id)
    if principal.is_staff and company_id is None:
        return Viewer(principal=principal)
    return Viewer(principal=principal, actor=await resolve_actor(session, principal, company_id))


ParticipantDep = Annotated[Viewer, Depends(get_participant, scope="function")]
