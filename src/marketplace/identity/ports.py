"""What identity's own flows need from the domains above it.

Identity is the lowest domain: companies, abuse and every other domain import it, and
it imports none of them. Where a sign-in needs one of them, identity states the need
here and the application plugs in the implementation (`app.py`, `install_ports`):

- `SignInHook`: runs when a user has signed in, in the sign-in's own transaction, so
  that its effects are there when the sign-in answers (companies: the invitations
  sent to the address just proven join the user to their companies, and the first
  `/me` lists them).
- `OffenceRecorder`: a failed sign-in or an invalid credential counts as an offence
  of the address towards an automatic block (abuse).
- `MembershipsLoader`: the companies a user belongs to, as values, kept with the
  signed-in principal in its cache (`principal_cache.py`), so that a cached signed-in
  read knows whom the user acts for without asking the database (companies).
- `ActiveSessionLoader`: a write's sign-in session, its user and the user's
  memberships, read from the database in one statement (companies).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import MemberOf
from marketplace.core.platform import Platform
from marketplace.identity.models import AuthSession, User


class SignInHook(Protocol):
    async def __call__(
        self, session: AsyncSession, user_id: uuid.UUID, channel: str, destination: str
    ) -> object:
        """`user_id` proved that `destination` (on `channel`: "email" or "phone") is
        theirs. Truthy when it changed the user's memberships (identity then retires
        the cached principals, principal_cache.py)."""


class OffenceRecorder(Protocol):
    async def __call__(self, platform: Platform, ip: str | None, kind: str) -> object:
        """Count one offence (`kind`, e.g. "auth_failure") of the address `ip`."""


class MembershipsLoader(Protocol):
    async def __call__(self, session: AsyncSession, user_id: uuid.UUID) -> tuple[MemberOf, ...]:
        """The user's memberships, in the order the companies domain lists them."""


class ActiveSessionLoader(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        now: datetime,
        *,
        session_id: uuid.UUID | None = None,
        cookie_secret_hash: str | None = None,
    ) -> tuple[AuthSession, User, tuple[MemberOf, ...]] | None:
        """The sign-in session named by its id or by its cookie's digest, if neither
        revoked nor expired at `now`, with its user and the user's memberships in the
        order the companies domain lists them."""


def get_sign_in_hook(request: Request) -> SignInHook:
    hook: SignInHook = request.app.state.on_sign_in
    return hook


def get_offence_recorder(request: Request) -> OffenceRecorder:
    recorder: OffenceRecorder = request.app.state.record_offence
    return recorder


SignInHookDep = Annotated[SignInHook, Depends(get_sign_in_hook)]
OffenceRecorderDep = Annotated[OffenceRecorder, Depends(get_offence_recorder)]
