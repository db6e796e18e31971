"""The acting company: who acts, for which company, with what role or scopes.

Every tenant-scoped endpoint depends on `ActingFor(action)` (company from the
`X-Company-ID` header) or `ActingForPath(action)` (company from the path). A company
the caller does not belong to answers 404, so that ids cannot be probed; a member
whose role lacks the action gets 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
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
from marketplace.companies.permissions import ROLE_ACTIONS, SCOPE_ACTIONS, Action, Role, Scope
from marketplace.core.access import Actor, MemberOf, Principal
from marketplace.core.deps import SessionDep
from marketplace.identity.deps import CurrentPrincipal

acting_company = service.acting_company


def member_actor(principal: Principal, company: Company, membership: Membership) -> Actor:
    """A member acting for its company: what its role allows (the permission table)."""
    return actor_of_member(principal, service.member_of(membership, company))


def actor_of_member(principal: Principal, member: MemberOf) -> Actor:
    role = Role(member.role)
    return Actor(
        principal=principal,
        company=member.company,
        role=role,
        scopes=frozenset(),
        actions=ROLE_ACTIONS[role],
        spending_limit=member.spending_limit,
        monthly_budget=member.monthly_budget,
    )


def key_actor(principal: Principal, company: Company) -> Actor:
    """An API key acting for its company: exactly what its scopes allow."""
    scopes = frozenset(Scope(scope) for scope in principal.key_scopes)
    return Actor(
        principal=principal,
        company=acting_company(company),
        role=None,
        scopes=frozenset(scopes),
        actions=frozenset().union(*(SCOPE_ACTIONS[scope] for scope in scopes)),
    )


async def resolve_actor(session: Any, principal: Principal, company_id: uuid.UUID | None) -> Actor:
    if principal.key_company_id is not None:
        if company_id is not None and company_id != principal.key_company_id:
            raise CompanyNotFound()
        company = await service.get_company(session, principal.key_company_id)
        if company is None:
            raise CompanyNotFound()
        return key_actor(principal, company)
    assert principal.user_id is not None
    if principal.memberships is not None:
        # Read with the credential (a signed-in read from identity's principal cache).
        return actor_of_member(principal, _member_of(principal.memberships, company_id))
    if company_id is None:
        memberships = await service.memberships_of_user(session, principal.user_id)
        if len(memberships) != 1:
            raise CompanyRequired()
        membership, company = memberships[0]
    else:
        found = await service.membership_of(session, company_id, principal.user_id)
        if found is None:
            raise CompanyNotFound()
        membership, company = found
    return member_actor(principal, company, membership)


def _member_of(memberships: tuple[MemberOf, ...], company_id: uuid.UUID | None) -> MemberOf:
    """The membership acted for, as `resolve_actor` finds it in the database."""
    if company_id is None:
        if len(memberships) != 1:
            raise CompanyRequired()
        return memberships[0]
    for member in memberships:
        if member.company.id == company_id:
            return member
    raise CompanyNotFound()


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
