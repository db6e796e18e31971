"""Request and response bodies of sign-in, tokens, the current user and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from marketplace.companies.permissions import Role, Scope
from marketplace.core.text import Text
from marketplace.identity.contacts import normalize_email, normalize_phone

Email = Annotated[Text, StringConstraints(max_length=254), AfterValidator(normalize_email)]
Phone = Annotated[Text, StringConstraints(max_length=32), AfterValidator(normalize_phone)]
# Names are shown to other companies.
Name = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=120)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OtpRequest(Input):
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> OtpRequest:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email or phone")
        return self


class OtpChallengeRead(BaseModel):
    challenge_id: uuid.UUID
    expires_in: int


class OtpVerify(Input):
    challenge_id: uuid.UUID
    code: Annotated[str, StringConstraints(min_length=4, max_length=12, pattern=r"^[0-9]+$")]
    # "cookie" opens a browser session (HttpOnly cookie + CSRF token) instead of tokens.
    mode: Literal["token", "cookie"] = "token"


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class BrowserSession(BaseModel):
    csrf_token: str
    expires_in: int


class RefreshRequest(Input):
    refresh_token: Annotated[Text, StringConstraints(min_length=10, max_length=200)]


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


class MeUpdate(Input):
    name: Name | None = None
    locale: Literal["en", "de", "fr", "es"] | None = None


class SessionRead(BaseModel):
    id: uuid.UUID
    kind: str
    user_agent: str
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    is_current: bool


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
