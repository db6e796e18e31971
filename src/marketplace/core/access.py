"""Who is acting: the one access model every route, service and repository gate uses.

Like Polar's `AuthSubject`: dependencies build it once per request (`identity.deps`
from the credential, `companies.deps` for the acting company), services receive it
and never build or re-check it, repositories gate their queries with it
(`core.tenancy`).

It lives in `core`, made of values only (ids, the company's kind, the role's name, the
actions it allows), so that every domain can import it and it imports none: the rows
it was built from (`User`, `ApiKey`, `Company`, `Membership`) belong to identity and
companies, and the permission table that turns a role or scopes into `actions` stays in
`companies.permissions`, applied when the subject is built. `Actor.can()` is then a
set lookup, and `core` knows no role by name.

- `Principal`: who presented a credential, a person (bearer token, browser cookie)
  or a company's API key.
- `Actor`: a principal acting for one company, with its role (members) or scopes
  (API keys) and what they allow.
- `Viewer`: whoever reads where anonymous callers and staff are allowed too: nobody
  (anonymous), a principal not acting for a company (staff), or an actor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class ActingCompany:
    """The company acted for, as read when the request began."""

    id: uuid.UUID
    kind: str  # "buyer", "supplier" or "both"
    name: str
    country: str


@dataclass(frozen=True, slots=True)
class MemberOf:
    """A user's membership of a company, as values: what acting for it starts from."""

    company: ActingCompany
    role: str
    spending_limit: Decimal | None = None
    monthly_budget: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who presented a credential. An API key acts for one company with fixed scopes.

    `memberships`: a user's companies when they were read with the credential (a signed-in
    read answered from identity's principal cache, identity/principal_cache.py), in the
    order the companies domain lists them; None when not read, and the acting company
    is then looked up in the database."""

    via: Literal["bearer", "cookie", "api_key"]
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    is_staff: bool = False
    key_company_id: uuid.UUID | None = None
    key_scopes: frozenset[str] = frozenset()
    memberships: tuple[MemberOf, ...] | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def rate_limit_identity(self) -> tuple[str, str]:
        if self.api_key_id is not None:
            return "api_key", str(self.api_key_id)
        assert self.user_id is not None
        return "user", str(self.user_id)


@dataclass(frozen=True, slots=True)
class Actor:
    """A principal acting for a company: a member with a role, or an API key with scopes.

    `actions` is what the role or the scopes allow, from the permission table
    (`companies.permissions`); every authorisation decision is `can(action)`."""

    principal: Principal
    company: ActingCompany
    role: str | None  # None when acting through an API key
    scopes: frozenset[str]
    actions: frozenset[str]
    # The member's own spending terms (None: no limit, or an API key).
    spending_limit: Decimal | None = None
    monthly_budget: Decimal | None = None

    @property
    def company_id(self) -> uuid.UUID:
        return self.company.id

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal.user_id

    @property
    def api_key_id(self) -> uuid.UUID | None:
        return self.principal.api_key_id

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def is_staff(self) -> bool:
        return self.principal.is_staff

    def can(self, action: str) -> bool:
        return action in self.actions


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whoever reads where anonymous callers or staff may read too.

    `actor` is set when the caller acts for a company; a staff user may also read
    without one (`actor` None, `principal.is_staff`)."""

    principal: Principal | None = None
    actor: Actor | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.principal is None

    @property
    def is_staff(self) -> bool:
        return self.principal is not None and self.principal.is_staff

    @property
    def company_id(self) -> uuid.UUID | None:
        return self.actor.company_id if self.actor is not None else None

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal.user_id if self.principal is not None else None

    @property
    def reads_public_only(self) -> bool:
        """Neither acting for a company nor staff: what anyone may read, nothing more."""
        return self.actor is None and not self.is_staff

    @property
    def reads_everything(self) -> bool:
        """Staff reading without acting for a company: no tenant gate applies."""
        return self.actor is None and self.is_staff


ANONYMOUS = Viewer()
