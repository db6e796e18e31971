"""Notifications: who is told about an event, on which channels, and their inbox.

`notify` runs in the "notifications" consumer's transaction: it resolves the
recipients (the members who can act on it, `rules.RULES`), applies each
recipient's preferences, and writes the in-app notifications and the pending
e-mail/SMS deliveries, all rendered in the recipient's language. Nothing is sent
here: deliveries go out after the transaction commits (`delivery.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.events import EventEnvelope
from marketplace.core.pagination import (
    Page,
    decode_time_keyset,
)
from marketplace.core.repository import page_of
from marketplace.identity.models import User
from marketplace.notifications import repository
from marketplace.notifications.errors import NotificationNotFound
from marketplace.notifications.models import Notification, NotificationPreference
from marketplace.notifications.rules import RULES, Rule, rule_for
from marketplace.notifications.schemas import (
    NotificationRead,
    PreferenceRead,
    PreferenceUpdate,
    ReadAllResult,
    UnreadCount,
)
from marketplace.notifications.templates import (
    email_body,
    language_of,
    render,
    sms_text,
)


def _now() -> datetime:
    return datetime.now(UTC)


# --- recipients and channels ---------------------------------------------------------


def _payload_id(envelope: EventEnvelope, field_name: str | None) -> uuid.UUID | None:
    if field_name is None:
        return None
    try:
        return uuid.UUID(str(envelope.payload.get(field_name)))
    except ValueError:
        return None


@dataclass(frozen=True)
class Directory:
    """The members of the companies some events concern, read once for all of them:
    company -> [(role, user)], users in id order."""

    members: dict[uuid.UUID, list[tuple[str, User]]]


async def directory_for(session: AsyncSession, company_ids: Collection[uuid.UUID]) -> Directory:
    members: dict[uuid.UUID, list[tuple[str, User]]] = {}
    for company_id, role, user in await repository.members_of(session, company_ids):
        members.setdefault(company_id, []).append((role, user))
    return Directory(members)


@dataclass(frozen=True)
class Recipient:
    company_id: uuid.UUID
    user: User
    rule: Rule  # as told to this recipient's audience
    payload: dict[str, Any]  # the event as the recipient's company may see it


def recipients(directory: Directory, rule: Rule, envelope: EventEnvelope) -> list[Recipient]:
    """Each user once, never outside the companies the event is entitled to and that
    may see it (`EventEnvelope.seen_by`: never a competitor's data, nothing its rule
    hides from them), never the person who caused it. `directory` must hold the
    members of the event's companies."""
    shown = {
        company_id: seen.payload
        for company_id in sorted(set(envelope.company_ids))
        if (seen := envelope.seen_by([company_id])) is not None
    }
    found: dict[uuid.UUID, Recipient] = {}
    named = _payload_id(envelope, rule.user_field)
    if named is not None:  # told first: the named user is addressed as such
        for company_id, payload in shown.items():
            member = next(
                (user for _role, user in directory.members.get(company_id, ()) if user.id == named),
                None,
            )
            if member is not None:
                found[named] = Recipient(company_id, member, rule, payload)
                break
    for audience in rule.audiences:
        only = _payload_id(envelope, audience.company_field)
        excluded = _payload_id(envelope, audience.except_company_field)
        if audience.company_field is not None and only is None:
            continue
        roles = {role.value for role in audience.roles}
        told = rule.told_to(audience)
        for company_id, payload in shown.items():
            if (only is not None and company_id != only) or company_id == excluded:
                continue
            for role, user in directory.members.get(company_id, ()):
                if role in roles:
                    found.setdefault(user.id, Recipient(company_id, user, told, payload))
    if envelope.actor_user_id is not None:
        found.pop(envelope.actor_user_id, None)
    return list(found.values())


def effective_channels(
    rule: Rule, preference: NotificationPreference | None, user: User
) -> dict[str, bool]:
    """The user's explicit choice per channel, else the default: in-app on; e-mail on
    for important types; SMS on for important types when the user has no e-mail."""

    def chosen(value: bool | None, default: bool) -> bool:
        return default if value is None else value

    return {
        "in_app": chosen(preference.in_app if preference else None, True),
        "email": chosen(preference.email if preference else None, rule.important),
        "sms": chosen(
            preference.sms if preference else None, rule.important and user.email is None
        ),
    }


@dataclass
class Outcome:
    """What `notify` wrote, for the after-commit work (live push, sending)."""

    notifications: list[Notification] = field(default_factory=list)
    delivery_ids: list[uuid.UUID] = field(default_factory=list)


async def notify(
    session: AsyncSession, envelopes: Sequence[EventEnvelope], *, sms_enabled: bool = True
) -> Outcome:
    """The notifications and deliveries of these events, in one read of the members,
    one of the preferences and one insert of each kind for all of them. No SMS
    deliveries while SMS is disabled (SMS_TRANSPORT=disabled): none could be sent."""
    ruled = [
        (rule, envelope)
        for envelope in envelopes
        if (rule := rule_for(envelope.type, envelope.payload)) is not None
    ]
    if not ruled:
        return Outcome()
    directory = await directory_for(
        session, {company_id for _rule, envelope in ruled for company_id in envelope.company_ids}
    )
    told = [(envelope, recipients(directory, rule, envelope)) for rule, envelope in ruled]
    preferences = await repository.preferences_for(
        session,
        {person.user.id for _envelope, people in told for person in people},
        {envelope.type for _rule, envelope in ruled},
    )
    notifications: list[dict[str, object]] = []
    deliveries: list[dict[str, object]] = []
    for envelope, people in told:
        for person in people:
            user, rule = person.user, person.rule
            channels = effective_channels(rule, preferences.get((user.id, envelope.type)), user)
            language = language_of(user.locale)
            rendered = render(rule, person.payload, language)
            common = {"user_id": user.id, "event_id": envelope.id, "event_type": envelope.type}
            if channels["in_app"]:
                notifications.append(
                    {
                        **common,
                        "company_id": person.company_id,
                        "title": rendered.title,
                        "body": rendered.body,
                        "link": rendered.link,
                        "data": person.payload,
                        "created_at": envelope.occurred_at,
                    }
                )
            outgoing = {**common, "language": language, "subject": rendered.title}
            if channels["email"] and user.email:
                body = email_body(rendered, user.name, language)
                deliveries.append(
                    {**outgoing, "channel": "email", "destination": user.email, "body": body}
                )
            if channels["sms"] and user.phone and sms_enabled:
                text = sms_text(rendered)
                deliveries.append(
                    {**outgoing, "channel": "sms", "destination": user.phone, "body": text}
                )
    return Outcome(
        notifications=await repository.insert_notifications(session, notifications),
        delivery_ids=await repository.insert_deliveries(session, deliveries),
    )


# --- the inbox -----------------------------------------------------------------------


def read_model(notification: Notification) -> NotificationRead:
    return NotificationRead.model_validate(notification)


async def list_notifications(
    session: AsyncSession, user_id: uuid.UUID, *, unread_only: bool, limit: int, cursor: str | None
) -> Page[NotificationRead]:
    rows = await repository.list_for_user(
        session,
        user_id,
        unread_only=unread_only,
        before=decode_time_keyset(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, read_model)


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> NotificationRead:
    notification = await repository.mark_read(session, user_id, notification_id, _now())
    if notification is None:
        raise NotificationNotFound()
    return read_model(notification)


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> ReadAllResult:
    return ReadAllResult(updated=await repository.mark_all_read(session, user_id, _now()))


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> UnreadCount:
    return UnreadCount(unread=await repository.unread_count(session, user_id))


async def notifications_after(
    session: AsyncSession, user_id: uuid.UUID, after_seq: int, limit: int
) -> list[tuple[int, Notification]]:
    """The user's notifications of events after an outbox position (live resume)."""
    return await repository.notifications_after_event_seq(session, user_id, after_seq, limit)


async def event_of_notification(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> uuid.UUID | None:
    """The event id of one of the user's notifications."""
    return await repository.event_of_notification(session, user_id, notification_id)


async def has_notification_for(
    session: AsyncSession, user_id: uuid.UUID, event_id: uuid.UUID
) -> bool:
    return await repository.has_notification_for(session, user_id, event_id)


# --- preferences ---------------------------------------------------------------------


async def preferences(session: AsyncSession, user: User) -> list[PreferenceRead]:
    chosen = await repository.preferences_of_user(session, user.id)
    result = []
    for event_type, rule in sorted(RULES.items()):
        channels = effective_channels(rule, chosen.get(event_type), user)
        result.append(PreferenceRead(event_type=event_type, important=rule.important, **channels))
    return result


async def update_preferences(
    session: AsyncSession, user: User, updates: Sequence[PreferenceUpdate]
) -> list[PreferenceRead]:
    """Set the listed types' channels; a channel left out returns to its default."""
    for update in updates:
        await repository.upsert_preference(
            session,
            user.id,
            update.event_type,
            {"in_app": update.in_app, "email": update.email, "sms": update.sms},
        )
    return await preferences(session, user)
