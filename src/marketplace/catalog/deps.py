"""Typed dependencies of the catalog routes: who reads, who writes the catalog."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header

from marketplace.catalog.service import ensure_supplier
from marketplace.companies import service as companies
from marketplace.companies.deps import acting, header_company_id, resolve_actor
from marketplace.companies.permissions import Action
from marketplace.core.access import ANONYMOUS, Actor, Viewer
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import OptionalPrincipal


async def get_viewer(
    session: SessionDep,
    principal: OptionalPrincipal,
    x_company_id: Annotated[
        str | None,
        Header(description="The company you act for: its prices apply (optional with one)."),
    ] = None,
) -> Viewer:
    """Anonymous visitors need nothing. A signed-in reader acts for the company of
    `X-Company-ID`, its only company, or (several and no header) none; an API key for
    its own company. A company named that the caller does not belong to is 404."""
    if principal is None:
        return ANONYMOUS
    company_id = header_company_id(x_company_id)
    if not principal.is_api_key and company_id is None:
        assert principal.user_id is not None
        if principal.memberships is not None:  # read with the credential: no statement
            if len(principal.memberships) != 1:
                return Viewer(principal=principal)
            company_id = principal.memberships[0].company.id
        else:
            memberships = await companies.memberships_of_user(session, principal.user_id)
            if len(memberships) != 1:
                return Viewer(principal=principal)
            company_id = memberships[0][1].id
    return Viewer(principal=principal, actor=await resolve_actor(session, principal, company_id))


ViewerDep = Annotated[Viewer, Depends(get_viewer, scope="function")]

CatalogReader = Annotated[Actor, acting(Action.CATALOG_READ)]
CatalogWriter = Annotated[Actor, acting(Action.CATALOG_WRITE)]


async def get_supplier_id(actor: CatalogWriter) -> uuid.UUID:
    """The acting company, allowed to write the catalog and a supplier (else 403)."""
    return ensure_supplier(actor)


# The supplier whose catalog, price lists and buyer groups a write concerns.
SupplierId = Annotated[uuid.UUID, Depends(get_supplier_id, scope="function")]
