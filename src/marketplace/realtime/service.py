"""Who may open a live connection, and what a reconnecting client missed."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.bus import message
from marketplace.core.errors import PermissionDenied, ServiceUnavailable
from marketplace.core.events import EventEnvelope
from marketplace.core.i18n import _
from marketplace.core.platform import Platform
from marketplace.core.ratelimit import SHARED_STORE_ERRORS
from marketplace.core.security import new_secret
from marketplace.identity import service as identity
from marketplace.identity.errors import InvalidCredentials
from marketplace.identity.models import User
from marketplace.notifications import service as notifications
from marketplace.realtime import repository
from marketplace.realtime.schemas import TicketRead, event_message

BEARER_SUBPROTOCOL = "bearer"
# A ticket opens one connection within this many seconds of being issued.
TICKET_TTL_SECONDS = 30
TICKET_KEY = "ws-ticket:"
TICKET_PURPOSE = "ws-ticket"
RESUME_LIMIT = 100
RESUME_MAX_AGE = timedelta(hours=24)


class OriginRefused(PermissionDenied):
    code = "origin-refused"
    message = _("Live updates with a session cookie are only accepted from trusted origins.")


@dataclass(frozen=True)
class Credential:
    # "ticket" is redeemed once, into the "session" it was issued for (see `redeem`).
    kind: Literal["bearer", "cookie", "ticket", "session"]
    secret: str
    # The subprotocol to accept: "bearer" when the token came in Sec-WebSocket-Protocol.
    subprotocol: str | None = None


def credential_of(
    platform: Platform,
    query: Mapping[str, str],
    subprotocols: Sequence[str],
    cookies: Mapping[str, str],
    origin: str | None,
) -> Credential | None:
    """The credential of a WebSocket handshake: `?ticket=` (single use, from
    `POST /ws/ticket`), `?access_token=`, then `Sec-WebSocket-Protocol: bearer, <token>`,
    then the session cookie. A cookie is ambient (the browser sends it for any page), so
    outside development it is only accepted from a trusted Origin: no cross-site
    WebSocket hijacking."""
    ticket = query.get("ticket")
    if ticket:
        return Credential("ticket", ticket)
    token = query.get("access_token")
    if token:
        return Credential("bearer", token)
    if len(subprotocols) >= 2 and subprotocols[0].lower() == BEARER_SUBPROTOCOL:
        return Credential("bearer", subprotocols[1], subprotocol=subprotocols[0])
    settings = platform.settings
    cookie = cookies.get(settings.session_cookie_name)
    if cookie:
        if not settings.is_development and origin not in settings.trusted_origins:
            raise OriginRefused()
        return Credential("cookie", cookie)
    return None


async def issue_ticket(platform: Platform, user_id: uuid.UUID, session_id: uuid.UUID) -> TicketRead:
    """A single-use, short-lived secret that opens one live connection for this sign-in
    session: a URL carrying it is worthless once used or after TICKET_TTL_SECONDS, unlike
    one carrying the access token. Stored only as a keyed digest, in the shared cache,
    so that any instance can redeem it."""
    ticket = new_secret()
    value = orjson.dumps({"user_id": str(user_id), "session_id": str(session_id)})
    try:
        await platform.cache.set(_ticket_key(platform, ticket), value, TICKET_TTL_SECONDS)
    except SHARED_STORE_ERRORS as error:
        raise ServiceUnavailable() from error
    return TicketRead(ticket=ticket, expires_in=TICKET_TTL_SECONDS)


def _ticket_key(platform: Platform, ticket: str) -> str:
    return TICKET_KEY + platform.hasher.digest(TICKET_PURPOSE, ticket)


async def redeem(platform: Platform, credential: Credential) -> Credential:
    """A ticket becomes the sign-in session it was issued for (used up at once: the
    connection is then re-checked against that session); other credentials stay."""
    if credential.kind != "ticket":
        return credential
    try:
        raw = await platform.cache.take(_ticket_key(platform, credential.secret))
    except SHARED_STORE_ERRORS as error:
        raise ServiceUnavailable() from error
    if raw is None:
        raise InvalidCredentials()
    return Credential("session", str(orjson.loads(raw)["session_id"]))


async def authenticate(platform: Platform, credential: Credential) -> User:
    """The user behind a credential that is valid now; `InvalidCredentials` otherwise
    (also used to re-check an open connection: expired or revoked ends it). A ticket
    must have been redeemed first."""
    async with platform.database.session_factory() as session:
        if credential.kind == "session":
            return await identity.authenticate_session(session, uuid.UUID(credential.secret))
        if credential.kind == "bearer":
            user, _session_id = await identity.authenticate_access_token(
                session, platform, credential.secret
            )
        else:
            user, _session_id = await identity.authenticate_cookie(
                session, platform, credential.secret
            )
    return user


def require(credential: Credential | None) -> Credential:
    if credential is None:
        raise InvalidCredentials()
    return credential


# --- resume --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    seq: int
    order: int  # an event before its notification
    event_id: uuid.UUID
    body: bytes | None  # None: an event its rule hides from the user, read and skipped


async def _marker_position(
    session: AsyncSession,
    user: User,
    companies: list[uuid.UUID],
    after: uuid.UUID,
) -> tuple[int, datetime, uuid.UUID] | None:
    """The outbox position of `after`: an event the user is entitled to or was notified
    of, or one of the user's notifications. Anything else is unknown to them."""
    position = await repository.event_position(session, after, companies, user.is_staff)
    if position is not None:
        seq, occurred_at, entitled = position
        if entitled or await notifications.has_notification_for(session, user.id, after):
            return seq, occurred_at, after
        return None
    event_id = await notifications.event_of_notification(session, user.id, after)
    if event_id is None:
        return None
    position = await repository.event_position(session, event_id, companies, user.is_staff)
    return (position[0], position[1], event_id) if position is not None else None


async def _page_after(
    session: AsyncSession, user: User, companies: list[uuid.UUID], seq: int, limit: int
) -> tuple[list[_Item], bool]:
    """What the user may see after outbox position `seq`, at most `limit` positions,
    and whether that is all there is."""
    events = await repository.events_after(session, seq, companies, user.is_staff, limit + 1)
    notes = await notifications.notifications_after(session, user.id, seq, limit + 1)
    items = []
    for row in events:
        seen = EventEnvelope.from_row(row).seen_by(companies)
        items.append(_Item(row.seq, 0, row.id, None if seen is None else event_message(seen)))
    items += [
        _Item(position, 1, note.event_id, message("notification", notifications.read_model(note)))
        for position, note in notes
    ]
    items.sort(key=lambda item: (item.seq, item.order))
    complete = len(items) <= limit
    shown = items[:limit]
    if not complete:
        # Never split an event from its notification: the next resume starts after
        # the last position sent in full.
        cut = items[limit].seq
        shown = [item for item in shown if item.seq != cut] or shown
    return shown, complete


async def resume(
    session: AsyncSession, user: User, after: uuid.UUID, limit: int = RESUME_LIMIT
) -> list[bytes]:
    """What the user missed after `after`, in outbox order, at most `limit` items,
    ending with a `resumed` summary (or a single `resume_failed`)."""
    limit = max(limit, 2)
    companies = await repository.company_ids_of_user(session, user.id)
    marker = await _marker_position(session, user, companies, after)
    if marker is None:
        return [message("resume_failed", {"after": str(after), "reason": "unknown"})]
    seq, occurred_at, marker_event = marker
    if occurred_at < datetime.now(UTC) - RESUME_MAX_AGE:
        return [message("resume_failed", {"after": str(after), "reason": "too_old"})]
    while True:
        shown, complete = await _page_after(session, user, companies, seq, limit)
        sent = [item for item in shown if item.body is not None]
        if sent or complete:
            break
        # Every position read was hidden from the user: read on rather than answer with
        # a marker the user may not know, or with no progress at all.
        seq = shown[-1].seq
    # Hidden events after the last item sent are read again (and skipped) next time.
    last = sent[-1].event_id if sent else marker_event
    summary = {"after": str(after), "count": len(sent), "complete": complete, "last": str(last)}
    return [item.body for item in sent if item.body is not None] + [message("resumed", summary)]


async def members_of(
    session: AsyncSession, company_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Company id -> its members' user ids, now."""
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user_id, company_id in await repository.memberships_in(session, company_ids):
        members.setdefault(company_id, []).append(user_id)
    return members


def entitled_users(
    members: Mapping[uuid.UUID, Sequence[uuid.UUID]], envelope: EventEnvelope
) -> dict[frozenset[uuid.UUID], list[uuid.UUID]]:
    """Everyone who may see an event live (the members of its companies, from
    `members_of`), grouped by the event's companies they are members of: what they may
    see of it."""
    companies_of: dict[uuid.UUID, set[uuid.UUID]] = {}
    for company_id in envelope.company_ids:
        for user_id in members.get(company_id, ()):
            companies_of.setdefault(user_id, set()).add(company_id)
    groups: dict[frozenset[uuid.UUID], list[uuid.UUID]] = {}
    for user_id, companies in sorted(companies_of.items()):
        groups.setdefault(frozenset(companies), []).append(user_id)
    return groups
