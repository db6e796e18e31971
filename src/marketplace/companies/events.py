"""Events of the companies domain: company data, addresses, members, invitations and
verification. They feed the audit log, webhooks and notifications.

Every event's aggregate is the company, so that one company's events keep their order.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from marketplace.core.events import DomainEvent, FieldChange


class CompanyEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "company"
    company_id: uuid.UUID

    def aggregate_id(self) -> uuid.UUID:
        return self.company_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.company_id]


class CompanyCreated(CompanyEvent):
    type: ClassVar[str] = "company.created"
    name: str
    kind: str
    country: str
    owner_user_id: uuid.UUID


class CompanyUpdated(CompanyEvent):
    type: ClassVar[str] = "company.updated"
    fields: list[str]
    changes: dict[str, FieldChange] = Field(default_factory=dict)


class VerificationChanged(CompanyEvent):
    from_status: str
    to_status: str
    reason: str | None


class VerificationSubmitted(VerificationChanged):
    type: ClassVar[str] = "company.verification_submitted"


class CompanyVerified(VerificationChanged):
    type: ClassVar[str] = "company.verified"


class VerificationRejected(VerificationChanged):
    type: ClassVar[str] = "company.verification_rejected"


class VerificationReset(VerificationChanged):
    """The legal identity changed after submission or approval."""

    type: ClassVar[str] = "company.verification_reset"


class AddressEvent(CompanyEvent):
    address_id: uuid.UUID


class AddressAdded(AddressEvent):
    type: ClassVar[str] = "company.address_added"


class AddressUpdated(AddressEvent):
    type: ClassVar[str] = "company.address_updated"
    fields: list[str]
    changes: dict[str, FieldChange] = Field(default_factory=dict)


class AddressDeleted(AddressEvent):
    type: ClassVar[str] = "company.address_deleted"


class MemberEvent(CompanyEvent):
    user_id: uuid.UUID
    role: str


class MemberJoined(MemberEvent):
    type: ClassVar[str] = "member.joined"
    invitation_id: uuid.UUID | None


class MemberUpdated(MemberEvent):
    type: ClassVar[str] = "member.updated"
    previous_role: str
    spending_limit: Decimal | None
    previous_spending_limit: Decimal | None = None
    monthly_budget: Decimal | None = None
    previous_monthly_budget: Decimal | None = None


class MemberRemoved(MemberEvent):
    type: ClassVar[str] = "member.removed"
    left: bool  # the member removed themselves


class InvitationEvent(CompanyEvent):
    invitation_id: uuid.UUID
    channel: str
    destination: str
    role: str


class InvitationCreated(InvitationEvent):
    type: ClassVar[str] = "invitation.created"


class InvitationRevoked(InvitationEvent):
    type: ClassVar[str] = "invitation.revoked"
