"""Request and response bodies of sign-in, tokens, the current user and their sessions
(the user with their companies, and API keys, are in `companies.schemas`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    model_validator,
)

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
