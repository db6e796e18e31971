"""Request and response bodies of companies, addresses, members, invitations and
verification.

Inputs forbid unknown fields, so a client can never set what it may not (status,
ids, ownership): mass assignment is impossible by construction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from babel import Locale
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
    model_validator,
)

from marketplace.companies.permissions import Role, Scope
from marketplace.core.text import Line, MultilineText, Reason, Text
from marketplace.identity.contacts import normalize_email, normalize_phone
from marketplace.identity.schemas import Name

# Babel lists CLDR territories; these are not ISO 3166-1 alpha-2 assignments
# (exceptional or user-assigned codes, and groupings such as EU and UN).
_NOT_ISO_3166 = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)


class CompanyKind(StrEnum):
    BUYER = "buyer"
    SUPPLIER = "supplier"
    BOTH = "both"


class VerificationStatus(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


@cache
def iso_countries() -> frozenset[str]:
    """The 249 ISO 3166-1 alpha-2 codes."""
    territories = Locale("en").territories
    return frozenset(
        code
        for code in map(str, territories)
        if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166
    )


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in iso_countries():
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


def _identifier(value: str) -> str:
    if not all(character.isalnum() or character in " ./-" for character in value):
        raise ValueError("may contain only letters, digits, spaces and . / -")
    return value


Country = Annotated[Text, StringConstraints(max_length=8), AfterValidator(_country)]
CompanyName = Annotated[Line, StringConstraints(max_length=200)]
Line200 = Annotated[Line, StringConstraints(max_length=200)]
Line100 = Annotated[Line, StringConstraints(max_length=100)]
PostalCode = Annotated[Line, StringConstraints(max_length=20)]
Identifier = Annotated[Line, StringConstraints(max_length=64), AfterValidator(_identifier)]
Description = Annotated[MultilineText, StringConstraints(max_length=5000)]
Website = Annotated[HttpUrl, UrlConstraints(max_length=300, allowed_schemes=["http", "https"])]
CENT = Decimal("0.01")
# Money: a decimal string in responses, never a float; two places at most.
SpendingLimit = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=2),
    AfterValidator(lambda value: value.quantize(CENT)),
]
Email = Annotated[Text, StringConstraints(max_length=254), AfterValidator(normalize_email)]
Phone = Annotated[Text, StringConstraints(max_length=32), AfterValidator(normalize_phone)]
InvitationToken = Annotated[
    str, StringConstraints(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartialUpdate(Input):
    """PATCH bodies: absent fields stay as they are; `null` clears only nullable fields."""

    _required: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PartialUpdate:
        for name in self._required:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as column values."""
        return self.model_dump(mode="json", include=self.model_fields_set)


# --- companies --------------------------------------------------------------------


class CompanyCreate(Input):
    name: CompanyName
    kind: CompanyKind
    country: Country
    legal_name: Line200 | None = None
    registration_number: Identifier | None = None
    tax_id: Identifier | None = None
    website: Website | None = None
    description: Description = ""
    address_line1: Line200 | None = None
    address_line2: Line200 | None = None
    city: Line100 | None = None
    postal_code: PostalCode | None = None
    region: Line100 | None = None


class CompanyUpdate(PartialUpdate):
    _required: ClassVar[tuple[str, ...]] = ("name", "kind", "country", "description")

    name: CompanyName | None = None
    kind: CompanyKind | None = None
    country: Country | None = None
    legal_name: Line200 | None = None
    registration_number: Identifier | None = None
    tax_id: Identifier | None = None
    website: Website | None = None
    description: Description | None = None
    address_line1: Line200 | None = None
    address_line2: Line200 | None = None
    city: Line100 | None = None
    postal_code: PostalCode | None = None
    region: Line100 | None = None


class TrustSignals(BaseModel):
    """What a supplier's trade record says about it, derived from the data (the trade
    domain computes it). A figure without data behind it is null, never a made-up 0."""

    rating_average: float | None = Field(
        description="Mean rating (1-5, two decimals) of reviews after completed orders."
    )
    review_count: int
    on_time_delivery_rate: float | None = Field(
        description="Share (0-1, four decimals) of delivered orders delivered by the "
        "promised date (UTC day of delivery <= promised_by)."
    )
    delivered_order_count: int = Field(description="The orders the on-time rate is taken over.")
    rfq_response_median_seconds: int | None = Field(
        description="Median time from an RFQ's publication to the supplier's first quote."
    )
    rfq_response_count: int = Field(description="The RFQs the median is taken over.")
    message_response_median_seconds: int | None = Field(
        description="Median time from a buyer's message that starts a turn in a thread "
        "(the first, or the first after the supplier's) to the supplier's next message."
    )
    message_response_count: int = Field(
        description="The answered buyer turns the median is taken over."
    )


class CompanyPublic(BaseModel):
    """What anyone, anonymous visitors included, may see of a company."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: CompanyKind
    country: str
    verification_status: VerificationStatus
    description: str
    website: str | None
    created_at: datetime


class CompanyPrivate(CompanyPublic):
    """The full profile, for the company's members (and platform staff)."""

    legal_name: str | None
    registration_number: str | None
    tax_id: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    verification_note: str | None
    verified_at: datetime | None
    updated_at: datetime


class CompanyPublicProfile(CompanyPublic):
    """The profile page: the public fields and, for a company that sells, its trust
    signals (null for buyer-only companies)."""

    trust: TrustSignals | None


class CompanyPrivateProfile(CompanyPrivate):
    """The profile page as the company's members and staff see it."""

    trust: TrustSignals | None


# --- addresses --------------------------------------------------------------------


class AddressCreate(Input):
    label: Line100
    recipient: Line200 | None = None
    line1: Line200
    line2: Line200 | None = None
    city: Line100
    postal_code: PostalCode
    region: Line100 | None = None
    country: Country
    is_default_shipping: bool = False
    is_billing: bool = False


class AddressUpdate(PartialUpdate):
    _required: ClassVar[tuple[str, ...]] = (
        "label",
        "line1",
        "city",
        "postal_code",
        "country",
        "is_default_shipping",
        "is_billing",
    )

    label: Line100 | None = None
    recipient: Line200 | None = None
    line1: Line200 | None = None
    line2: Line200 | None = None
    city: Line100 | None = None
    postal_code: PostalCode | None = None
    region: Line100 | None = None
    country: Country | None = None
    is_default_shipping: bool | None = None
    is_billing: bool | None = None


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    label: str
    recipient: str | None
    line1: str
    line2: str | None
    city: str
    postal_code: str
    region: str | None
    country: str
    is_default_shipping: bool
    is_billing: bool
    created_at: datetime
    updated_at: datetime


# --- members ----------------------------------------------------------------------


class MemberRead(BaseModel):
    user_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    role: Role
    spending_limit: Decimal | None
    monthly_budget: Decimal | None
    joined_at: datetime


class MemberUpdate(Input):
    """`spending_limit` (per checkout) and `monthly_budget` (per calendar month, UTC)
    apply to purchasers only; a role change away from purchaser drops both. Above
    either, the purchaser's orders wait for an owner's or admin's approval."""

    role: Role | None = None
    spending_limit: SpendingLimit | None = None
    monthly_budget: SpendingLimit | None = None

    @model_validator(mode="after")
    def _role_not_null(self) -> MemberUpdate:
        if "role" in self.model_fields_set and self.role is None:
            raise ValueError("role cannot be null")
        return self


# --- invitations ------------------------------------------------------------------


class InvitationCreate(Input):
    email: Email | None = None
    phone: Phone | None = None
    role: Role
    spending_limit: SpendingLimit | None = None

    @model_validator(mode="after")
    def _valid(self) -> InvitationCreate:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email or phone")
        if self.spending_limit is not None and self.role is not Role.PURCHASER:
            raise ValueError("only purchasers carry a spending limit")
        return self


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: Literal["email", "phone"]
    destination: str
    role: Role
    spending_limit: Decimal | None
    invited_by_user_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationAccept(Input):
    token: InvitationToken


class MembershipJoined(BaseModel):
    company_id: uuid.UUID
    company_name: str
    role: Role
    spending_limit: Decimal | None
    joined_at: datetime


# --- verification -----------------------------------------------------------------


class VerificationSubmit(Input):
    """The legal identity staff check; it replaces the company's legal fields."""

    legal_name: Line200
    registration_number: Identifier
    tax_id: Identifier
    address_line1: Line200
    address_line2: Line200 | None = None
    city: Line100
    postal_code: PostalCode
    region: Line100 | None = None
    country: Country


class VerificationEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: VerificationStatus
    to_status: VerificationStatus
    actor_user_id: uuid.UUID | None
    reason: str | None
    created_at: datetime


class VerificationRead(BaseModel):
    status: VerificationStatus
    note: str | None
    verified_at: datetime | None
    history: list[VerificationEventRead]


class VerificationDecision(Input):
    decision: Literal["approve", "reject"]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> VerificationDecision:
        if self.decision == "reject" and self.reason is None:
            raise ValueError("a rejection needs a reason")
        return self


# --- the signed-in user with their companies; company API keys -------------------


class MembershipRead(BaseModel):
    company_id: uuid.UUID
    company_name: str
    company_kind: str
    verification_status: str
    role: Role
    spending_limit: str | None
    monthly_budget: str | None


class MeRead(BaseModel):
    id: uuid.UUID
    email: str | None
    phone: str | None
    name: str
    locale: str
    is_staff: bool
    created_at: datetime
    companies: list[MembershipRead]


class ApiKeyCreate(Input):
    name: Name = Field(min_length=1)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _future_and_aware(self) -> ApiKeyCreate:
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise ValueError("expires_at needs a time zone")
            if self.expires_at <= datetime.now(self.expires_at.tzinfo):
                raise ValueError("expires_at must be in the future")
        if len(set(self.scopes)) != len(self.scopes):
            raise ValueError("scopes must not repeat")
        return self


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret. Shown only in this response.")
