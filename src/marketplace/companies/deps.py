"""The acting company: who acts, for which company, with what role or scopes.

Every tenant-scoped endpoint depends on `ActingFor(action)` (company from the
`X-Company-ID` header) or `ActingForPath(action)` (company from the path). A company
the caller does not belong to answers 404, so that ids cannot be probed; a member
whose role lacks the action gets 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request

from marketplace.companies import service
from marketplace.companies.errors import (
    CompanyNotFound,
    CompanyRequired,
    InvalidCompanyHeader,
    RoleNotAllowed,
    ScopeNotAllowed,
)
from marketplace.companies.models import Company, Membership
from marketplace.companies.permissions import Action, Role, Scope, role_can, scopes_can
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import CurrentPrincipal, Principal


@dataclass(frozen=True)
class Actor:
    principal: Principal
    company: Company
    role: Role | None  # None when acting through an API key
    membership: Membership | None
    scopes: frozenset[Scope]

    @property
    def company_id(self) -> uuid.UUID:
        return self.company.id

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal.user.id if self.principal.user else None

    @property
    def api_key_id(self) -> uuid.UUID | None:
        return self.principal.api_key.id if self.principal.api_key else None

    def can(self, action: Action) -> bool:
        if self.role is not None:
            return role_can(self.role, action)
        return scopes_can(self.scopes, action)


async def resolve_actor(session: Any, principal: Principal, company_id: uuid.UUID | None) -> Actor:
    if principal.api_key is not None:
        key = principal.api_key
        if company_id is not None and company_id != key.company_id:
            raise CompanyNotFound()
        company = await service.get_company(session, key.company_id)
        if company is None:
            raise CompanyNotFound()
        return Actor(
            principal=principal,
            company=company,
            role=None,
            membership=None,
            scopes=frozenset(Scope(scope) for scope in key.scopes),
        )
    assert principal.user is not None
    if company_id is None:
        memberships = await service.memberships_of_user(session, principal.user.id)
        if len(memberships) != 1:
            raise CompanyRequired()
        membership, company = memberships[0]
    else:
        found = await service.membership_of(session, company_id, principal.user.id)
        if found is None:
            raise CompanyNotFound()
        membership, company = found
    return Actor(
        principal=principal,
        company=company,
        role=Role(membership.role),
        membership=membership,
        scopes=frozenset(),
    )


def _check(request: Request, actor: Actor, action: Action) -> Actor:
    if not actor.can(action):
        raise ScopeNotAllowed() if actor.role is None else RoleNotAllowed()
    # For the request-wide machinery that scopes by tenant (idempotency keys).
    request.state.acting_company_id = actor.company_id
    return actor


def header_company_id(x_company_id: str | None) -> uuid.UUID | None:
    """The company an `X-Company-ID` header names (None without one); 400 if malformed."""
    if x_company_id is None:
        return None
    try:
        return uuid.UUID(x_company_id)
    except ValueError as error:
        raise InvalidCompanyHeader() from error


def ActingFor(action: Action) -> Callable[..., Awaitable[Actor]]:
    """Dependency: the acting company from `X-Company-ID`, allowed to do `action`."""

    async def dependency(
        request: Request,
        session: SessionDep,
        principal: CurrentPrincipal,
        x_company_id: Annotated[
            str | None, Header(description="The company you act for (optional with one).")
        ] = None,
    ) -> Actor:
        actor = await resolve_actor(session, principal, header_company_id(x_company_id))
        return _check(request, actor, action)

    return dependency


def ActingForPath(action: Action) -> Callable[..., Awaitable[Actor]]:
    """Dependency: the company named in the path, allowed to do `action`."""

    async def dependency(
        request: Request,
        session: SessionDep,
        principal: CurrentPrincipal,
        company_id: Annotated[uuid.UUID, Path()],
    ) -> Actor:
        actor = await resolve_actor(session, principal, company_id)
        return _check(request, actor, action)

    return dependency


def acting(action: Action, *, from_path: bool = False) -> Any:
    """`Annotated[Actor, acting(Action.X)]` for routers."""
    factory = ActingForPath if from_path else ActingFor
    return Depends(factory(action), scope="function")
