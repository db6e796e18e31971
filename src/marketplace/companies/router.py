"""Companies, addresses, members, invitations and verification; staff review; the
signed-in user with their companies (`/me`) and company API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, status

from marketplace.companies import service
from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.companies.ports import TrustSignalsDep
from marketplace.companies.schemas import (
    AddressCreate,
    AddressRead,
    AddressUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    CompanyCreate,
    CompanyPrivate,
    CompanyPrivateProfile,
    CompanyPublicProfile,
    CompanyUpdate,
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    MembershipJoined,
    MemberUpdate,
    MeRead,
    VerificationDecision,
    VerificationRead,
    VerificationStatus,
    VerificationSubmit,
)
from marketplace.core.access import Actor
from marketplace.core.deps import NO_STORE, CacheDep, PlatformDep, SessionDep
from marketplace.core.i18n import negotiate_language
from marketplace.core.notifier import NotifierDep
from marketplace.core.openapi import problems
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.identity import service as identity
from marketplace.identity.deps import CurrentStaff, CurrentUser, OptionalPrincipal
from marketplace.identity.schemas import MeUpdate

companies_router = APIRouter(prefix="/companies", tags=["companies"])
invitations_router = APIRouter(prefix="/invitations", tags=["companies"])
admin_companies_router = APIRouter(prefix="/admin/companies", tags=["admin"])
me_router = APIRouter(prefix="/me", tags=["me"])
api_keys_router = APIRouter(prefix="/companies/{company_id}/api-keys", tags=["api keys"])

UpdateCompany = Annotated[Actor, acting(Action.COMPANY_UPDATE, from_path=True)]
ReadCompany = Annotated[Actor, acting(Action.COMPANY_READ, from_path=True)]
ManageAddresses = Annotated[Actor, acting(Action.ADDRESSES_MANAGE, from_path=True)]
ReadMembers = Annotated[Actor, acting(Action.MEMBERS_READ, from_path=True)]
ManageMembers = Annotated[Actor, acting(Action.MEMBERS_MANAGE, from_path=True)]
SubmitVerification = Annotated[Actor, acting(Action.COMPANY_VERIFY_SUBMIT, from_path=True)]
ManageKeys = Annotated[Actor, acting(Action.API_KEYS_MANAGE, from_path=True)]


def _private(company: object) -> CompanyPrivate:
    return CompanyPrivate.model_validate(company)


# --- companies --------------------------------------------------------------------


@companies_router.post("", status_code=status.HTTP_201_CREATED, response_model=CompanyPrivate)
async def create_company(
    body: CompanyCreate, current: CurrentUser, session: SessionDep, cache: CacheDep
) -> CompanyPrivate:
    """Register a company. You become its owner; it starts unverified."""
    return _private(await service.create_company(session, cache, current.user.id, body))


@companies_router.get("/{company_id}", response_model=CompanyPrivateProfile | CompanyPublicProfile)
async def get_company(
    company_id: uuid.UUID,
    principal: OptionalPrincipal,
    session: SessionDep,
    cache: CacheDep,
    trust_signals: TrustSignalsDep,
) -> CompanyPrivateProfile | CompanyPublicProfile:
    """A company's public profile, with a supplier's trust signals (rating, on-time
    delivery, RFQ response time). Its members, and platform staff, also get the
    private fields (legal name, registration number, tax id, address)."""
    profile = await service.company_profile(session, company_id, principal)
    # The trade domain owns the data behind the signals; the profile shows them (ports.py).
    trust = await trust_signals(session, cache, profile.kind, profile.id)
    if isinstance(profile, CompanyPrivate):
        return CompanyPrivateProfile(**profile.model_dump(), trust=trust)
    return CompanyPublicProfile(**profile.model_dump(), trust=trust)


@companies_router.patch("/{company_id}", response_model=CompanyPrivate)
async def update_company(
    body: CompanyUpdate, actor: UpdateCompany, session: SessionDep, cache: CacheDep
) -> CompanyPrivate:
    """Change the company profile (owners and admins). Changing the legal identity of a
    pending or verified company sends it back to `unverified`."""
    return _private(await service.update_company(session, cache, actor, body))


# --- addresses --------------------------------------------------------------------


@companies_router.get("/{company_id}/addresses", response_model=Page[AddressRead])
async def list_addresses(
    actor: ReadCompany,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AddressRead]:
    """The company's shipping and billing addresses."""
    return await service.list_addresses(session, actor.company_id, limit, cursor)


@companies_router.post(
    "/{company_id}/addresses", status_code=status.HTTP_201_CREATED, response_model=AddressRead
)
async def add_address(
    body: AddressCreate, actor: ManageAddresses, session: SessionDep
) -> AddressRead:
    """Add an address. Making it the default shipping address unsets the previous one."""
    return AddressRead.model_validate(await service.add_address(session, actor.company_id, body))


@companies_router.patch("/{company_id}/addresses/{address_id}", response_model=AddressRead)
async def update_address(
    address_id: uuid.UUID, body: AddressUpdate, actor: ManageAddresses, session: SessionDep
) -> AddressRead:
    """Change an address."""
    address = await service.update_address(session, actor.company_id, address_id, body)
    return AddressRead.model_validate(address)


@companies_router.delete(
    "/{company_id}/addresses/{address_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_address(
    address_id: uuid.UUID, actor: ManageAddresses, session: SessionDep
) -> None:
    """Delete an address."""
    await service.delete_address(session, actor.company_id, address_id)


# --- members ----------------------------------------------------------------------


@companies_router.get("/{company_id}/members", response_model=Page[MemberRead])
async def list_members(
    actor: ReadMembers,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MemberRead]:
    """The company's members with their roles and spending limits."""
    return await service.list_members(session, actor.company_id, limit, cursor)


@companies_router.patch(
    "/{company_id}/members/{user_id}", response_model=MemberRead, responses=problems(409)
)
async def update_member(
    user_id: uuid.UUID,
    body: MemberUpdate,
    actor: ManageMembers,
    session: SessionDep,
    cache: CacheDep,
) -> MemberRead:
    """Change a member's role or spending limit (purchasers only). Granting, changing or
    removing the owner role takes an owner; the last owner cannot be demoted."""
    return await service.update_member(session, cache, actor, user_id, body)


@companies_router.delete(
    "/{company_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(409),
)
async def remove_member(
    user_id: uuid.UUID, actor: ReadMembers, session: SessionDep, cache: CacheDep
) -> None:
    """Remove a member (owners and admins), or leave the company (your own user id).
    The last owner cannot leave or be removed."""
    await service.remove_member(session, cache, actor, user_id)


# --- invitations ------------------------------------------------------------------


@companies_router.post(
    "/{company_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationRead,
    responses=problems(409),
)
async def invite(
    body: InvitationCreate,
    request: Request,
    actor: ManageMembers,
    session: SessionDep,
    platform: PlatformDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
) -> InvitationRead:
    """Invite someone by e-mail or phone. They receive a code, and join when they
    accept it or sign in with that address. Inviting an owner takes an owner."""
    issued = await service.invite(
        session,
        platform,
        actor,
        body,
        negotiate_language(request.headers.get("accept-language")),
    )
    # Sent after the response, so after the invitation is committed.
    background.add_task(notifier.send, issued.message)
    return InvitationRead.model_validate(issued.invitation)


@companies_router.get("/{company_id}/invitations", response_model=Page[InvitationRead])
async def list_invitations(
    actor: ManageMembers,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[InvitationRead]:
    """Invitations not yet accepted, revoked or expired."""
    return await service.list_invitations(session, actor.company_id, limit, cursor)


@companies_router.delete(
    "/{company_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def revoke_invitation(
    invitation_id: uuid.UUID, actor: ManageMembers, session: SessionDep
) -> None:
    """Revoke a pending invitation; its code stops working."""
    await service.revoke_invitation(session, actor, invitation_id)


@invitations_router.post("/accept", response_model=MembershipJoined, responses=problems(404))
async def accept_invitation(
    body: InvitationAccept, current: CurrentUser, session: SessionDep, platform: PlatformDep
) -> MembershipJoined:
    """Join a company with the code you were sent. You must be signed in with the
    e-mail address or phone number the invitation was sent to."""
    return await service.accept_invitation(session, platform, current.user, body.token)


# --- verification -----------------------------------------------------------------


@companies_router.post(
    "/{company_id}/verification", response_model=VerificationRead, responses=problems(409)
)
async def submit_verification(
    body: VerificationSubmit, actor: SubmitVerification, session: SessionDep
) -> VerificationRead:
    """Submit the company's legal identity for verification by platform staff."""
    company = await service.submit_verification(session, actor, body)
    return await service.verification_of(session, company)


@companies_router.get("/{company_id}/verification", response_model=VerificationRead)
async def get_verification(actor: ReadCompany, session: SessionDep) -> VerificationRead:
    """Verification status, the staff note and the history of decisions."""
    return await service.company_verification(session, actor)


@admin_companies_router.get("", response_model=Page[CompanyPrivate])
async def staff_list_companies(
    staff: CurrentStaff,
    session: SessionDep,
    verification_status: Annotated[
        VerificationStatus | None, Query(description="Only companies with this status.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CompanyPrivate]:
    """Companies for staff review, oldest first (e.g. `?verification_status=pending`)."""
    return await service.companies_for_staff(session, verification_status, limit, cursor)


@admin_companies_router.post(
    "/{company_id}/verification", response_model=VerificationRead, responses=problems(409)
)
async def staff_decide_verification(
    company_id: uuid.UUID, body: VerificationDecision, staff: CurrentStaff, session: SessionDep
) -> VerificationRead:
    """Approve or reject a pending verification (a rejection needs a reason)."""
    company = await service.decide_verification(session, staff.user.id, company_id, body)
    return await service.verification_of(session, company)


# --- the signed-in user with their companies -----------------------------------


@me_router.get("", response_model=MeRead)
async def me(current: CurrentUser, session: SessionDep) -> MeRead:
    """The signed-in user and the companies they belong to, with their roles."""
    return await service.describe_user(session, current.user)


@me_router.patch("", response_model=MeRead)
async def update_me(body: MeUpdate, current: CurrentUser, session: SessionDep) -> MeRead:
    """Change your display name or language."""
    await identity.update_user(session, current.user, body.name, body.locale)
    return await service.describe_user(session, current.user)


# --- API keys ----------------------------------------------------------------------


def _key_read(key: object) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key, from_attributes=True)


@api_keys_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    dependencies=NO_STORE,
)
async def create_api_key(
    body: ApiKeyCreate, actor: ManageKeys, session: SessionDep, platform: PlatformDep
) -> ApiKeyCreated:
    """Create a key for this company. The secret is in this response only."""
    api_key, secret = await identity.create_api_key(
        session, platform, actor.company_id, body.name, body.scopes, body.expires_at, actor.user_id
    )
    return ApiKeyCreated(**_key_read(api_key).model_dump(), key=secret)


@api_keys_router.get("", response_model=list[ApiKeyRead])
async def list_api_keys(actor: ManageKeys, session: SessionDep) -> list[ApiKeyRead]:
    """The company's keys: prefix, scopes, creation, last use; never the secret."""
    return [_key_read(key) for key in await identity.list_api_keys(session, actor.company_id)]


@api_keys_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: uuid.UUID, actor: ManageKeys, session: SessionDep) -> None:
    """Revoke a key; it stops working immediately."""
    await identity.revoke_api_key(session, actor.company_id, key_id)
