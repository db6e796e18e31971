"""Business rules of companies, memberships, invitations and verification.

Functions take the session and the acting principal (`Actor` for tenant routes);
they flush, never commit: the request owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies import events, repository
from marketplace.companies.errors import (
    AddressNotFound,
    AlreadyMember,
    CompanyNotFound,
    InvitationNotFound,
    LastOwner,
    MemberNotFound,
    MonthlyBudgetNotAllowed,
    OwnerRoleRequired,
    RoleNotAllowed,
    SpendingLimitNotAllowed,
    VerificationStateConflict,
)
from marketplace.companies.models import (
    Company,
    CompanyAddress,
    Invitation,
    Membership,
    VerificationEvent,
)
from marketplace.companies.permissions import Action, Role
from marketplace.companies.schemas import (
    AddressCreate,
    AddressRead,
    AddressUpdate,
    CompanyCreate,
    CompanyPrivate,
    CompanyPublic,
    CompanyUpdate,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    MembershipJoined,
    MembershipRead,
    MemberUpdate,
    MeRead,
    VerificationDecision,
    VerificationEventRead,
    VerificationRead,
    VerificationStatus,
    VerificationSubmit,
)
from marketplace.core.access import ActingCompany, Actor, MemberOf, Principal
from marketplace.core.cache import Cache
from marketplace.core.errors import ValidationFailed
from marketplace.core.events import EventActor, emit, field_changes
from marketplace.core.i18n import _, translate
from marketplace.core.notifier import OutgoingMessage, require_channel
from marketplace.core.pagination import (
    Page,
    decode_time_keyset,
)
from marketplace.core.platform import Platform
from marketplace.core.repository import by_created, page_of
from marketplace.core.security import new_secret
from marketplace.identity import principal_cache
from marketplace.identity.models import User

INVITATION_PURPOSE = "invitation"

# Changing any of these changes who the company legally is: what staff verified.
LEGAL_IDENTITY_FIELDS = ("legal_name", "registration_number", "tax_id", "country")
# What an actor carries of its company (`core.access.ActingCompany`): a change retires
# the cached principals (identity.principal_cache), whose memberships hold it.
ACTING_COMPANY_FIELDS = frozenset({"name", "kind", "country"})

_TRANSITION_EVENTS: dict[VerificationStatus, type[events.VerificationChanged]] = {
    VerificationStatus.PENDING: events.VerificationSubmitted,
    VerificationStatus.VERIFIED: events.CompanyVerified,
    VerificationStatus.REJECTED: events.VerificationRejected,
    VerificationStatus.UNVERIFIED: events.VerificationReset,
}

ROLE_LABELS: dict[Role, str] = {
    Role.OWNER: _("owner"),
    Role.ADMIN: _("administrator"),
    Role.PURCHASER: _("purchaser"),
    Role.SALES: _("sales"),
    Role.VIEWER: _("viewer"),
}

T = TypeVar("T")
R = TypeVar("R")


def _now() -> datetime:
    return datetime.now(UTC)


# --- memberships of a user (`/me` and the acting-company resolution) ------------


async def memberships_of_user(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Membership, Company]]:
    return await repository.memberships_of_user(session, user_id)


def acting_company(company: Company) -> ActingCompany:
    return ActingCompany(
        id=company.id, kind=company.kind, name=company.name, country=company.country
    )


def member_of(membership: Membership, company: Company) -> MemberOf:
    return MemberOf(
        company=acting_company(company),
        role=membership.role,
        spending_limit=membership.spending_limit,
        monthly_budget=membership.monthly_budget,
    )


async def memberships_as_values(session: AsyncSession, user_id: uuid.UUID) -> tuple[MemberOf, ...]:
    """The user's memberships as values, in `memberships_of_user`'s order: identity's
    `MembershipsLoader` (kept with a signed-in principal in its cache)."""
    return tuple(member_of(*found) for found in await memberships_of_user(session, user_id))


# Identity's `ActiveSessionLoader`: a write's sign-in session with its user and the
# user's memberships, in one statement (the repository's, as it is).
active_session_with_memberships = repository.active_session_with_memberships


async def describe_user(session: AsyncSession, user: User) -> MeRead:
    """The signed-in user (`GET /me`) with the companies they belong to and their roles."""
    memberships = await memberships_of_user(session, user.id)
    return MeRead(
        id=user.id,
        email=user.email,
        phone=user.phone,
        name=user.name,
        locale=user.locale,
        is_staff=user.is_staff,
        created_at=user.created_at,
        companies=[
            MembershipRead(
                company_id=company.id,
                company_name=company.name,
                company_kind=company.kind,
                verification_status=company.verification_status,
                role=Role(membership.role),
                spending_limit=(
                    str(membership.spending_limit)
                    if membership.spending_limit is not None
                    else None
                ),
                monthly_budget=(
                    str(membership.monthly_budget)
                    if membership.monthly_budget is not None
                    else None
                ),
            )
            for membership, company in memberships
        ],
    )


async def membership_of(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, Company] | None:
    return await repository.membership_of(session, company_id, user_id)


async def get_company(session: AsyncSession, company_id: uuid.UUID) -> Company | None:
    return await repository.get_company(session, company_id)


async def lock_membership(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    """The membership, read afresh and locked until the transaction ends: a purchaser's
    orders are judged against the budget one after another (trade/orders/approvals)."""
    return await repository.lock_membership(session, company_id, user_id)


# --- companies --------------------------------------------------------------------


async def create_company(
    session: AsyncSession, cache: Cache | None, user_id: uuid.UUID, body: CompanyCreate
) -> Company:
    """A new, unverified company; its creator is its first owner. `cache`: the shared
    cache whose signed-in principals list the user's companies (identity.principal_cache);
    None only for data loaded outside the service (the demo), which no reader cached."""
    company = Company(
        id=uuid.uuid4(), verification_status="unverified", **body.model_dump(mode="json")
    )
    await repository.add(session, company)
    await repository.add(session, Membership(company_id=company.id, user_id=user_id, role="owner"))
    if cache is not None:
        await principal_cache.principals_changed(session, cache)
    await emit(
        session,
        events.CompanyCreated(
            company_id=company.id,
            name=company.name,
            kind=company.kind,
            country=company.country,
            owner_user_id=user_id,
        ),
    )
    await session.refresh(company)
    return company


async def company_profile(
    session: AsyncSession, company_id: uuid.UUID, principal: Principal | None
) -> CompanyPublic | CompanyPrivate:
    """The public profile; members and platform staff also see the private fields."""
    company = await repository.get_company(session, company_id)
    if company is None:
        raise CompanyNotFound()
    user_id = principal.user_id if principal is not None else None
    if user_id is not None and (
        (principal is not None and principal.is_staff)
        or await repository.membership_of(session, company_id, user_id) is not None
    ):
        return CompanyPrivate.model_validate(company)
    return CompanyPublic.model_validate(company)


async def _record_transition(
    session: AsyncSession,
    company: Company,
    to_status: VerificationStatus,
    actor_user_id: uuid.UUID | None,
    reason: str | None,
) -> None:
    from_status = company.verification_status
    event = VerificationEvent(
        company_id=company.id,
        from_status=from_status,
        to_status=to_status.value,
        actor_user_id=actor_user_id,
        reason=reason,
        # Set here, not by now(): events of one transaction keep their order.
        created_at=_now(),
    )
    company.verification_status = to_status.value
    await repository.add(session, event)
    await emit(
        session,
        _TRANSITION_EVENTS[to_status](
            company_id=company.id, from_status=from_status, to_status=to_status.value, reason=reason
        ),
    )


async def update_company(
    session: AsyncSession, cache: Cache, actor: Actor, body: CompanyUpdate
) -> Company:
    """Change the profile.

    Changing a legal identity field (legal name, registration number, tax id, country)
    of a pending or verified company sends it back to `unverified`, recorded as a
    verification event: staff verified (or are checking) the old identity, not the new
    one, and a verified badge must never vouch for data nobody checked. The company
    submits again. Other fields (name, description, website, address) change freely.
    """
    company = await repository.lock_company(session, actor.company_id)
    if company is None:
        raise CompanyNotFound()
    changed = {
        name: value for name, value in body.changes().items() if value != getattr(company, name)
    }
    changed_identity = sorted(name for name in LEGAL_IDENTITY_FIELDS if name in changed)
    before_after = field_changes(company, changed)
    for name, value in changed.items():
        setattr(company, name, value)
    if changed.keys() & ACTING_COMPANY_FIELDS:
        await principal_cache.principals_changed(session, cache)
    if changed:
        await emit(
            session,
            events.CompanyUpdated(
                company_id=company.id, fields=sorted(changed), changes=before_after
            ),
        )
    if changed_identity and company.verification_status in ("pending", "verified"):
        company.verified_at = None
        await _record_transition(
            session,
            company,
            VerificationStatus.UNVERIFIED,
            actor.user_id,
            "legal identity changed: " + ", ".join(changed_identity),
        )
    await repository.flush(session)
    await session.refresh(company)
    return company


async def display_names(
    session: AsyncSession, company_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The display name of each company, in one query: for responses that show the
    companies on the other side of a trade beside their ids."""
    return await repository.names_of(session, set(company_ids))


# --- addresses --------------------------------------------------------------------


async def list_addresses(
    session: AsyncSession, company_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AddressRead]:
    rows = await repository.list_addresses(
        session, company_id, decode_time_keyset(cursor), limit + 1
    )
    return page_of(rows, limit, AddressRead.model_validate)


async def _make_default_shipping(
    session: AsyncSession, company_id: uuid.UUID, address_id: uuid.UUID | None
) -> None:
    # The company lock serialises default changes; the partial unique index backs it.
    await repository.lock_company(session, company_id)
    await repository.clear_default_shipping(session, company_id, address_id)


async def add_address(
    session: AsyncSession, company_id: uuid.UUID, body: AddressCreate
) -> CompanyAddress:
    address = CompanyAddress(id=uuid.uuid4(), company_id=company_id, **body.model_dump(mode="json"))
    if address.is_default_shipping:
        await _make_default_shipping(session, company_id, None)
    await repository.add(session, address)
    await emit(session, events.AddressAdded(company_id=company_id, address_id=address.id))
    await session.refresh(address)
    return address


async def update_address(
    session: AsyncSession, company_id: uuid.UUID, address_id: uuid.UUID, body: AddressUpdate
) -> CompanyAddress:
    address = await repository.get_address(session, company_id, address_id)
    if address is None:
        raise AddressNotFound()
    changes = body.changes()
    before_after = field_changes(address, changes)
    if changes.get("is_default_shipping"):
        await _make_default_shipping(session, company_id, address.id)
    for name, value in changes.items():
        setattr(address, name, value)
    await repository.flush(session)
    await emit(
        session,
        events.AddressUpdated(
            company_id=company_id,
            address_id=address.id,
            fields=sorted(changes),
            changes=before_after,
        ),
    )
    await session.refresh(address)
    return address


async def delete_address(
    session: AsyncSession, company_id: uuid.UUID, address_id: uuid.UUID
) -> None:
    address = await repository.get_address(session, company_id, address_id)
    if address is None:
        raise AddressNotFound()
    await repository.delete_address(session, address.id)
    await emit(session, events.AddressDeleted(company_id=company_id, address_id=address.id))


# --- members ----------------------------------------------------------------------


def _member_read(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id,
        name=user.name,
        email=user.email,
        phone=user.phone,
        role=Role(membership.role),
        spending_limit=membership.spending_limit,
        monthly_budget=membership.monthly_budget,
        joined_at=membership.created_at,
    )


async def list_members(
    session: AsyncSession, company_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[MemberRead]:
    rows = await repository.list_members(session, company_id, decode_time_keyset(cursor), limit + 1)
    return page_of(rows, limit, lambda row: _member_read(*row), key=lambda row: by_created(row[0]))


@dataclass(frozen=True)
class _LockedMember:
    owners: list[Membership]
    target: Membership

    def other_owners(self) -> list[Membership]:
        return [owner for owner in self.owners if owner.id != self.target.id]


async def _lock_member(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> _LockedMember:
    """Owners first (id order), then the target: one lock order for every change."""
    owners = await repository.lock_owners(session, actor.company_id)
    target = await repository.lock_membership(session, actor.company_id, user_id)
    if target is None:
        raise MemberNotFound()
    return _LockedMember(owners, target)


def _require_owner_rights(actor: Actor, locked: _LockedMember) -> None:
    """Owner changes need an owner, judged under the lock: an owner demoted a moment
    ago by a concurrent request has lost that right."""
    if not actor.can(Action.OWNERS_MANAGE) or actor.user_id not in {
        owner.user_id for owner in locked.owners
    }:
        raise OwnerRoleRequired()


async def update_member(
    session: AsyncSession, cache: Cache, actor: Actor, user_id: uuid.UUID, body: MemberUpdate
) -> MemberRead:
    """Change a member's role, spending limit or monthly budget.

    A spending limit and a monthly budget are kept only for purchasers: setting one on
    another role is a 422, and moving a purchaser to another role drops them.
    """
    locked = await _lock_member(session, actor, user_id)
    target = locked.target
    new_role = body.role or Role(target.role)
    if Role.OWNER in (Role(target.role), new_role):
        _require_owner_rights(actor, locked)
    if target.role == Role.OWNER and new_role != Role.OWNER and not locked.other_owners():
        raise LastOwner()
    before = (target.role, target.spending_limit, target.monthly_budget)
    refusals: dict[str, type[ValidationFailed]] = {
        "spending_limit": SpendingLimitNotAllowed,
        "monthly_budget": MonthlyBudgetNotAllowed,
    }
    for field, refusal in refusals.items():
        if field not in body.model_fields_set:
            continue
        if getattr(body, field) is not None and new_role != Role.PURCHASER:
            raise refusal(
                errors=[
                    {
                        "loc": ["body", field],
                        "msg": translate(refusal.message),
                        "type": f"{field}_not_allowed",
                    }
                ]
            )
        setattr(target, field, getattr(body, field))
    if new_role != Role.PURCHASER:
        target.spending_limit = None
        target.monthly_budget = None
    target.role = new_role.value
    await repository.flush(session)
    if (target.role, target.spending_limit, target.monthly_budget) != before:
        await principal_cache.principals_changed(session, cache)
        await emit(
            session,
            events.MemberUpdated(
                company_id=actor.company_id,
                user_id=user_id,
                role=target.role,
                previous_role=before[0],
                spending_limit=target.spending_limit,
                previous_spending_limit=before[1],
                monthly_budget=target.monthly_budget,
                previous_monthly_budget=before[2],
            ),
        )
    found = await repository.member_with_user(session, actor.company_id, user_id)
    assert found is not None
    return _member_read(*found)


async def remove_member(
    session: AsyncSession, cache: Cache, actor: Actor, user_id: uuid.UUID
) -> None:
    """Remove a member (members:manage), or leave the company (yourself).

    Removing an owner needs an owner, and the last owner can never go.
    """
    leaving = actor.user_id == user_id
    if not leaving and not actor.can(Action.MEMBERS_MANAGE):
        raise RoleNotAllowed()
    locked = await _lock_member(session, actor, user_id)
    if locked.target.role == Role.OWNER:
        if not leaving:
            _require_owner_rights(actor, locked)
        if not locked.other_owners():
            raise LastOwner()
    await repository.delete_membership(session, locked.target.id)
    await principal_cache.principals_changed(session, cache)
    await emit(
        session,
        events.MemberRemoved(
            company_id=actor.company_id, user_id=user_id, role=locked.target.role, left=leaving
        ),
    )


# --- invitations ------------------------------------------------------------------


def _invitation_fields(invitation: Invitation) -> dict[str, object]:
    return {
        "company_id": invitation.company_id,
        "invitation_id": invitation.id,
        "channel": invitation.channel,
        "destination": invitation.destination,
        "role": invitation.role,
    }


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    message: OutgoingMessage


async def list_invitations(
    session: AsyncSession, company_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[InvitationRead]:
    rows = await repository.list_pending_invitations(
        session, company_id, _now(), decode_time_keyset(cursor), limit + 1
    )
    return page_of(rows, limit, InvitationRead.model_validate)


async def invite(
    session: AsyncSession,
    platform: Platform,
    actor: Actor,
    body: InvitationCreate,
    language: str,
) -> IssuedInvitation:
    """Invite an e-mail address or phone number; inviting it again replaces the
    pending invitation (a resend with a new code)."""
    if body.role is Role.OWNER and not actor.can(Action.OWNERS_MANAGE):
        raise OwnerRoleRequired()
    channel, destination = ("email", body.email) if body.email else ("phone", body.phone)
    assert destination is not None
    require_channel(platform.settings, "email" if channel == "email" else "sms")
    company_id = actor.company_id
    if await repository.has_member_with_contact(session, company_id, channel, destination):
        raise AlreadyMember()
    now = _now()
    await repository.revoke_pending_invitations_to(session, company_id, channel, destination, now)
    token = new_secret()
    ttl_days = platform.settings.invitation_ttl_days
    invitation = Invitation(
        id=uuid.uuid4(),
        company_id=company_id,
        channel=channel,
        destination=destination,
        role=body.role.value,
        spending_limit=body.spending_limit,
        token_hash=platform.hasher.digest(INVITATION_PURPOSE, token),
        invited_by_user_id=actor.user_id,
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
    )
    await repository.add(session, invitation)
    await emit(session, events.InvitationCreated(**_invitation_fields(invitation)))
    company_name = actor.company.name
    message = OutgoingMessage(
        channel="email" if channel == "email" else "sms",
        to=destination,
        subject=translate(
            _("You are invited to join {company} on B2B Marketplace"),
            language,
            company=company_name,
        ),
        body=translate(
            _(
                "{company} invites you to join as {role}. Sign in with this address to "
                "accept, or accept with the invitation code {token}. "
                "The invitation expires in {days} days."
            ),
            language,
            company=company_name,
            role=translate(ROLE_LABELS[body.role], language),
            token=token,
            days=ttl_days,
        ),
    )
    return IssuedInvitation(invitation, message)


async def revoke_invitation(session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> None:
    invitation = await repository.lock_pending_invitation(
        session, actor.company_id, invitation_id, _now()
    )
    if invitation is None:
        raise InvitationNotFound()
    if invitation.role == Role.OWNER and not actor.can(Action.OWNERS_MANAGE):
        raise OwnerRoleRequired()
    await repository.revoke_invitation(session, invitation.id, _now())
    await emit(session, events.InvitationRevoked(**_invitation_fields(invitation)))


async def accept_invitation(
    session: AsyncSession, platform: Platform, user: User, token: str
) -> MembershipJoined:
    """Join with an invitation code. Only the invited person may use it: the user's
    verified e-mail address or phone must be the invitation's destination; any other
    case (unknown, expired, revoked, used, someone else's) is the same 404."""
    now = _now()
    invitation = await repository.lock_pending_invitation_by_token(
        session, platform.hasher.digest(INVITATION_PURPOSE, token), now
    )
    contact = user.email if invitation is not None and invitation.channel == "email" else user.phone
    if invitation is None or contact != invitation.destination:
        raise InvitationNotFound()
    if await _accept(session, invitation, user.id, now):
        await principal_cache.principals_changed(session, platform.cache)
    found = await repository.membership_of(session, invitation.company_id, user.id)
    assert found is not None
    membership, company = found
    return MembershipJoined(
        company_id=company.id,
        company_name=company.name,
        role=Role(membership.role),
        spending_limit=membership.spending_limit,
        joined_at=membership.created_at,
    )


async def _accept(
    session: AsyncSession, invitation: Invitation, user_id: uuid.UUID, now: datetime
) -> bool:
    """Whether the user joined (not already a member)."""
    # An existing membership is kept as it is: an invitation never demotes anyone.
    joined = await repository.add_membership_if_absent(
        session, invitation.company_id, user_id, invitation.role, invitation.spending_limit
    )
    await repository.mark_invitation_accepted(session, invitation.id, user_id, now)
    if joined:
        await emit(
            session,
            events.MemberJoined(
                company_id=invitation.company_id,
                user_id=user_id,
                role=invitation.role,
                invitation_id=invitation.id,
            ),
            # Also on sign-in, before any principal is known: the joining person acts.
            actor=EventActor(user_id=user_id),
        )
    return joined


async def add_member_directly(
    session: AsyncSession,
    company_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    spending_limit: Decimal | None,
) -> None:
    """A member added without an invitation, for data loaded outside any request (the
    demo): no one acts, so no event. An existing membership is kept as it is."""
    await repository.add_membership_if_absent(session, company_id, user_id, role, spending_limit)


async def verify_directly(session: AsyncSession, company: Company) -> None:
    """Verified without the staff review, for data loaded outside any request (the
    demo), as `add_member_directly`. A verified company is left as it is."""
    if company.verification_status != VerificationStatus.VERIFIED:
        company.verification_status = VerificationStatus.VERIFIED
        company.verified_at = _now()
        await repository.flush(session)


async def accept_invitations_on_sign_in(
    session: AsyncSession, user_id: uuid.UUID, channel: str, destination: str
) -> int:
    """A signed-in user joins every company that invited their verified contact: how
    many it joined (identity's `SignInHook`)."""
    now = _now()
    joined = 0
    for invitation in await repository.pending_invitations_for(session, channel, destination, now):
        joined += await _accept(session, invitation, user_id, now)
    return joined


# --- verification -----------------------------------------------------------------


async def submit_verification(
    session: AsyncSession, actor: Actor, body: VerificationSubmit
) -> Company:
    """Ask staff to verify the company's legal identity: unverified or rejected only."""
    company = await repository.lock_company(session, actor.company_id)
    if company is None:
        raise CompanyNotFound()
    if company.verification_status not in ("unverified", "rejected"):
        raise VerificationStateConflict(status=company.verification_status)
    for name, value in body.model_dump(mode="json").items():
        setattr(company, name, value)
    company.verification_note = None
    await _record_transition(session, company, VerificationStatus.PENDING, actor.user_id, None)
    await repository.flush(session)
    return company


async def company_verification(session: AsyncSession, actor: Actor) -> VerificationRead:
    """The acting company's verification: status, staff note and history."""
    company = await repository.get_company(session, actor.company_id)
    if company is None:
        raise CompanyNotFound()
    return await verification_of(session, company)


async def verification_of(session: AsyncSession, company: Company) -> VerificationRead:
    history = await repository.verification_history(session, company.id)
    return VerificationRead(
        status=VerificationStatus(company.verification_status),
        note=company.verification_note,
        verified_at=company.verified_at,
        history=[VerificationEventRead.model_validate(event) for event in history],
    )


async def companies_for_staff(
    session: AsyncSession,
    verification_status: VerificationStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[CompanyPrivate]:
    rows = await repository.list_companies(
        session,
        verification_status.value if verification_status is not None else None,
        decode_time_keyset(cursor),
        limit + 1,
    )
    return page_of(rows, limit, CompanyPrivate.model_validate)


async def decide_verification(
    session: AsyncSession,
    staff_user_id: uuid.UUID,
    company_id: uuid.UUID,
    decision: VerificationDecision,
) -> Company:
    """Staff approve or reject a pending request; the decision is recorded with them."""
    company = await repository.lock_company(session, company_id)
    if company is None:
        raise CompanyNotFound()
    if company.verification_status != "pending":
        raise VerificationStateConflict(status=company.verification_status)
    approved = decision.decision == "approve"
    company.verification_note = decision.reason
    company.verified_at = _now() if approved else None
    await _record_transition(
        session,
        company,
        VerificationStatus.VERIFIED if approved else VerificationStatus.REJECTED,
        staff_user_id,
        decision.reason,
    )
    await repository.flush(session)
    await session.refresh(company)
    return company


async def get_address(
    session: AsyncSession, company_id: uuid.UUID, address_id: uuid.UUID
) -> CompanyAddress | None:
    """One of the company's addresses (trade snapshots it as a shipping address)."""
    return await repository.get_address(session, company_id, address_id)
