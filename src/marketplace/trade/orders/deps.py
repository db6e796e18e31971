"""Who may read an order: a member of its buyer or supplier company (acting for it),
or platform staff, who may read every order."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from marketplace.companies.deps import ActingFor
from marketplace.companies.permissions import Action
from marketplace.core.access import Viewer
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import CurrentPrincipal

_party = ActingFor(Action.ORDERS_READ)


async def get_order_viewer(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    x_company_id: Annotated[
        str | None,
        Header(description="The company you act for (optional with one; staff need none)."),
    ] = None,
) -> Viewer:
    """Staff read every order; anyone else acts for a company allowed to read orders
    (another company's order is then a 404 in the service)."""
    if principal.is_staff:
        return Viewer(principal=principal)
    actor = await _party(request, session, principal, x_company_id)
    return Viewer(principal=principal, actor=actor)


OrderReader = Annotated[Viewer, Depends(get_order_viewer, scope="function")]
