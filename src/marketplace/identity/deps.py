"""Who is calling: resolved once per request from a bearer token, an API key or a
browser session cookie (with CSRF protection for unsafe methods)."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from marketplace.core.access import MemberOf, Principal, Viewer
from marketplace.core.client_ip import client_ip
from marketplace.core.deps import PlatformDep, SessionDep
from marketplace.core.errors import DomainError
from marketplace.core.events import EventActor, set_event_context
from marketplace.core.middleware.abuse import count_address_if_uncounted, limit_principal
from marketplace.identity import service
from marketplace.identity.errors import (
    AmbiguousCredentials,
    CsrfFailed,
    InvalidCredentials,
    StaffOnly,
)
from marketplace.identity.models import ApiKey, User
from marketplace.identity.principal_cache import CachedPrincipal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"

# Declared for OpenAPI ("Authorize" in Swagger UI); validation is ours.
_bearer = HTTPBearer(auto_error=False, description="Access token from /auth/otp/verify")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Company API key")


@dataclass(frozen=True)
class Credential:
    """The credential's rows, for identity's own routes (the signed-in user's profile);
    everything else receives the `Principal` made of them."""

    principal: Principal
    user: User | None = None
    api_key: ApiKey | None = None


def principal_of(
    via: Literal["bearer", "cookie", "api_key"],
    user: User | None,
    session_id: uuid.UUID | None,
    api_key: ApiKey | None,
) -> Principal:
    """The access model's `Principal` for a user (bearer or cookie) or an API key."""
    if api_key is not None:
        return Principal(
            via="api_key",
            api_key_id=api_key.id,
            key_company_id=api_key.company_id,
            key_scopes=frozenset(api_key.scopes),
        )
    assert user is not None
    return Principal(
        via=via,
        user_id=user.id,
        session_id=session_id,
        is_staff=user.is_staff,
    )


async def get_optional_credential(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Credential | None:
    """None for anonymous calls; any credential that is present must be valid (401).
    Counts the request against the user's or API key's rate limit (429 beyond it)."""
    try:
        credential = await _resolve_principal(request, session, platform, bearer, api_key)
    except DomainError:
        # Requests with a credential skip the per-address limit at the edge; one whose
        # credential fails is counted against the address instead.
        await count_address_if_uncounted(platform, request.scope)
        raise
    if credential is None:
        await count_address_if_uncounted(platform, request.scope)
        return None
    principal = credential.principal
    request.state.principal = principal
    await limit_principal(platform, request.scope, *principal.rate_limit_identity)
    return credential


async def _resolve_principal(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    bearer: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Credential | None:
    authorization = request.headers.get("authorization")
    cookie = request.cookies.get(platform.settings.session_cookie_name)
    if authorization is not None and api_key is not None:
        raise AmbiguousCredentials()
    credential: Credential | None = None
    if authorization is not None:
        if bearer is None or bearer.scheme.lower() != "bearer" or not bearer.credentials:
            raise InvalidCredentials()
        if request.method in SAFE_METHODS:
            # A read: the principal with its memberships from the principal cache
            # (principal_cache.py; measured in bench/README.md, "Signed-in reads").
            found = await service.authenticate_reader(
                session, platform, bearer.credentials, request.app.state.load_memberships
            )
            credential = _reader("bearer", *found)
        else:
            # A write: from the database, the memberships in the session's statement.
            found_writer = await service.authenticate_writer(
                session, platform, bearer.credentials, request.app.state.load_active_session
            )
            credential = _writer("bearer", *found_writer)
    elif api_key is not None:
        key = await service.authenticate_api_key(session, platform, api_key)
        credential = Credential(principal_of("api_key", None, None, key), api_key=key)
    elif cookie is not None and request.method in SAFE_METHODS:
        found = await service.authenticate_cookie_reader(
            session, platform, cookie, request.app.state.load_memberships
        )
        credential = _reader("cookie", *found)
    elif cookie is not None:
        user, session_id, memberships = await service.authenticate_cookie_writer(
            session, platform, cookie, request.app.state.load_active_session
        )
        expected = service.csrf_token_for(platform, session_id)
        presented = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise CsrfFailed()
        credential = _writer("cookie", user, session_id, memberships)
    return credential


def _writer(
    via: Literal["bearer", "cookie"],
    user: User,
    session_id: uuid.UUID,
    memberships: tuple[MemberOf, ...],
) -> Credential:
    """A write's credential, its memberships read with its session (in one statement):
    the acting company is then found among them (`companies.deps`), with no statement
    of its own."""
    principal = Principal(
        via=via,
        user_id=user.id,
        session_id=session_id,
        is_staff=user.is_staff,
        memberships=memberships,
    )
    return Credential(principal, user=user)


def _reader(
    via: Literal["bearer", "cookie"], found: CachedPrincipal, user: User | None
) -> Credential:
    """A reader's credential from the principal cache (its user row only when read)."""
    principal = Principal(
        via=via,
        user_id=found.user_id,
        session_id=found.session_id,
        is_staff=found.is_staff,
        memberships=found.memberships,
    )
    return Credential(principal, user=user)


OptionalCredential = Annotated[
    Credential | None, Depends(get_optional_credential, scope="function")
]


async def get_optional_principal(credential: OptionalCredential) -> Principal | None:
    """Who calls, or None for anonymous calls (on every API route, app.py)."""
    return credential.principal if credential is not None else None


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal, scope="function")]


async def get_principal(request: Request, principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise InvalidCredentials()
    # Events emitted while handling this request name who caused them and from where.
    set_event_context(
        EventActor(
            user_id=principal.user_id,
            api_key_id=principal.api_key_id,
            is_staff=principal.is_staff,
        ),
        ip=client_ip(request.scope),
    )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal, scope="function")]


@dataclass(frozen=True)
class UserPrincipal:
    """A person (token or cookie), not an API key."""

    user: User
    session_id: uuid.UUID
    principal: Principal


async def get_user_principal(
    principal: CurrentPrincipal, credential: OptionalCredential, session: SessionDep
) -> UserPrincipal:
    if credential is None or principal.user_id is None or principal.session_id is None:
        from marketplace.identity.errors import ApiKeyNotAllowed

        raise ApiKeyNotAllowed()
    user = credential.user
    if user is None:  # a read answered from the principal cache: the row on demand
        user = await service.get_user(session, principal.user_id)
        if user is None:
            raise InvalidCredentials()
    return UserPrincipal(user, principal.session_id, principal)


CurrentUser = Annotated[UserPrincipal, Depends(get_user_principal, scope="function")]


async def get_staff(current: CurrentUser) -> UserPrincipal:
    if not current.user.is_staff:
        raise StaffOnly()
    return current


CurrentStaff = Annotated[UserPrincipal, Depends(get_staff, scope="function")]


async def get_staff_reader(staff: CurrentStaff) -> Viewer:
    """Staff reading for no company: the tenancy gate lets them read every row."""
    return Viewer(principal=staff.principal)


StaffReader = Annotated[Viewer, Depends(get_staff_reader, scope="function")]
