"""Turning events into audit entries, and reading them back.

What is audited: every domain event, except the families in `NOT_AUDITED` (none
today): companies, addresses, verification, members, invitations, API keys, webhooks,
orders and their payments, RFQs, quotes, messages (without their text), staff access,
product moderation, the category tree and IP rules. A new event type is audited
unless it is added to `NOT_AUDITED` with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit import repository
from marketplace.audit.models import AuditEvent
from marketplace.audit.schemas import (
    AdminAuditEventRead,
    AuditActor,
    AuditEventRead,
    AuditFilter,
    AuditTarget,
)
from marketplace.core.access import Actor, Viewer
from marketplace.core.events import EventEnvelope, view_for
from marketplace.core.pagination import Page, TimeKeyset, decode_time_keyset
from marketplace.core.repository import page_of

# Event families (the part of the type before the dot) kept out of the audit log.
NOT_AUDITED: frozenset[str] = frozenset()

# Content that never enters the log: rows here can never be deleted, so nothing that
# may have to be erased (what people wrote to each other) is copied into them. That a
# message was posted, by whom, in which thread and with which attachments is recorded.
_CONTENT_KEYS: dict[str, tuple[str, ...]] = {"message.posted": ("body",)}


def family_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def is_audited(event_type: str) -> bool:
    return family_of(event_type) not in NOT_AUDITED


def target_of(event: EventEnvelope) -> tuple[str, uuid.UUID]:
    """What the event is about. Companies' events are aggregated by company (to keep
    their order); their target is the member, invitation or address they change."""
    family = family_of(event.type)
    key = {"member": "user_id", "invitation": "invitation_id", "company": "address_id"}.get(family)
    if key is not None and event.payload.get(key) is not None:
        return "address" if family == "company" else family, uuid.UUID(str(event.payload[key]))
    return event.aggregate_type, event.aggregate_id


def changes_of(event: EventEnvelope) -> dict[str, dict[str, Any]]:
    """Before/after of the fields the event says changed, as far as it carries them.

    Conventions of the event payloads: `changes` holds `{field: {before, after}}`
    (core.events.FieldChange); `from_status`/`to_status`, `previous_<f>`/`<f>` and
    `old_<f>`/`<f>` are before/after pairs; `fields` lists changed fields, whose new
    value is included when the event carries it."""
    payload = event.payload
    carried = payload.get("changes")
    changes: dict[str, dict[str, Any]] = dict(carried) if isinstance(carried, dict) else {}
    if "from_status" in payload and "to_status" in payload:
        name = "verification_status" if event.aggregate_type == "company" else "status"
        if payload["from_status"] != payload["to_status"]:
            changes[name] = {"before": payload["from_status"], "after": payload["to_status"]}
    for key, before in payload.items():
        for prefix in ("previous_", "old_"):
            name = key.removeprefix(prefix)
            if key.startswith(prefix) and name in payload and before != payload[name]:
                changes[name] = {"before": before, "after": payload[name]}
    for name in payload.get("fields") or ():
        if name not in changes:
            changes[name] = {"after": payload[name]} if name in payload else {}
    if event.type.endswith(".status_changed") and "status" not in changes and "status" in payload:
        changes["status"] = {"after": payload["status"]}
    return changes


def _row(event: EventEnvelope) -> dict[str, Any]:
    target_type, target_id = target_of(event)
    return {
        "id": uuid.uuid4(),
        "event_id": event.id,
        "occurred_at": event.occurred_at,
        "action": event.type,
        "event_version": event.version,
        "actor_user_id": event.actor_user_id,
        "actor_api_key_id": event.actor_api_key_id,
        "actor_is_staff": event.actor_is_staff,
        "company_ids": list(event.company_ids),
        "target_type": target_type,
        "target_id": target_id,
        "changes": changes_of(event),
        "details": {
            key: value
            for key, value in event.payload.items()
            if key not in _CONTENT_KEYS.get(event.type, ())
        },
        "request_id": event.request_id,
        "ip": event.ip,
    }


async def record(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
    """Record each audited event once."""
    await repository.insert_once(
        session, [_row(event) for event in events if is_audited(event.type)]
    )


def _read_fields(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "occurred_at": row.occurred_at,
        "recorded_at": row.recorded_at,
        "action": row.action,
        "actor": AuditActor(
            user_id=row.actor_user_id,
            api_key_id=row.actor_api_key_id,
            is_staff=row.actor_is_staff,
        ),
        "target": AuditTarget(type=row.target_type, id=row.target_id),
        "changes": row.changes,
        "details": row.details,
        "request_id": row.request_id,
        "ip": row.ip,
    }


def read_for_company(row: AuditEvent, company_id: uuid.UUID) -> AuditEventRead | None:
    """The entry as the company may see it: its details are the event's payload, shown
    through the event's own rule (`view_for`) as webhooks and live updates show it;
    None when that rule hides the event from the company."""
    view = view_for(row.action, row.details, row.company_ids, [company_id])
    if not view.is_visible:
        return None
    fields = _read_fields(row)
    fields["details"] = view.payload
    return AuditEventRead(**fields)


def read_for_staff(row: AuditEvent) -> AdminAuditEventRead:
    return AdminAuditEventRead(**_read_fields(row), company_ids=list(row.company_ids))


def _by_occurrence(row: AuditEvent) -> TimeKeyset:
    return row.occurred_at, row.id


async def list_for_company(
    session: AsyncSession,
    actor: Actor,
    where: AuditFilter,
    limit: int,
    cursor: str | None,
) -> Page[AuditEventRead]:
    """The company's own events: those that concern it (an order concerns its buyer
    and its supplier, each seeing it in its own log)."""
    rows = await repository.list_events(
        session, actor, where, decode_time_keyset(cursor), limit + 1
    )
    # A page may hold fewer entries than `limit` when events hidden from the company
    # were among its rows; the cursor still moves past them.
    entries = [read_for_company(row, actor.company_id) for row in rows[:limit]]
    return page_of(
        rows, limit, [entry for entry in entries if entry is not None], key=_by_occurrence
    )


async def list_all(
    session: AsyncSession, staff: Viewer, where: AuditFilter, limit: int, cursor: str | None
) -> Page[AdminAuditEventRead]:
    rows = await repository.list_events(
        session, staff, where, decode_time_keyset(cursor), limit + 1
    )
    return page_of(rows, limit, read_for_staff, key=_by_occurrence)
