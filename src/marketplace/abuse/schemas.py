"""Request and response bodies of the staff abuse-protection endpoints."""

from __future__ import annotations

import ipaddress
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

from marketplace.core.text import Text

RuleAction = Literal["allow", "deny"]


def normalize_cidr(value: str) -> str:
    """A network in canonical form; a bare address is its own /32 or /128. Host bits
    after the mask are refused rather than silently widened to the network."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        try:
            widened = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                "not an IP address or CIDR network (e.g. 203.0.113.0/24 or 2001:db8::/48)"
            ) from None
        raise ValueError(f"host bits are set after the mask; did you mean {widened}?") from None


Cidr = Annotated[
    Text, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(normalize_cidr)
]
Note = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=300)]


class IpRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cidr: Cidr = Field(description="An address or network, e.g. 203.0.113.0/24.")
    action: RuleAction = Field(
        description="`deny` refuses the addresses; `allow` exempts them from deny rules, "
        "automatic blocks and the per-address rate limit."
    )
    note: Note = ""
    expires_at: datetime | None = Field(
        default=None, description="When the rule stops applying; never when absent."
    )

    @model_validator(mode="after")
    def _future_and_aware(self) -> IpRuleCreate:
        if self.expires_at is not None:
            if self.expires_at.tzinfo is None:
                raise ValueError("expires_at needs a time zone")
            if self.expires_at <= datetime.now(self.expires_at.tzinfo):
                raise ValueError("expires_at must be in the future")
        return self


class IpRuleRead(BaseModel):
    id: uuid.UUID
    cidr: str
    action: RuleAction
    note: str
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None


class IpBlockRead(BaseModel):
    address: str = Field(description="The blocked address (for IPv6, its /64 network).")
    reason: str
    expires_in: int = Field(description="Seconds until the block ends.")
