"""Who may read an order: a member of its buyer or supplier company (acting for it),
or platform staff, who may read every order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from marketplace.companies.deps import ActingFor, Actor
from marketplace.companies.permissions import Action
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import CurrentPrincipal


@dataclass(frozen=True)
class OrderViewer:
    actor: Actor | None  # None: staff reading any order

    @property
    def company_id(self) -> uuid.UUID | None:
        """The tenant gate for order queries (None: no gate, staff)."""
        return self.actor.company_id if self.actor is not None else None


_party = ActingFor(Action.ORDERS_READ)


async def get_order_viewer(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    x_company_id: Annotated[
        str | None,
        Header(description="The company you act for (optional with one; staff need none)."),
    ] = None,
) -> OrderViewer:
    """Staff read every order; anyone else acts for a company allowed to read orders
    (another company's order is then a 404 in the service)."""
    if principal.is_staff:
        return OrderViewer(actor=None)
    return OrderViewer(actor=await _party(request, session, principal, x_company_id))


OrderReader = Annotated[OrderViewer, Depends(get_order_viewer, scope="function")]
