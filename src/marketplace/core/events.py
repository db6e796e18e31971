"""Typed, versioned domain events and the one way to emit them.

A domain declares its events as subclasses of `DomainEvent` in its `events.py` and
calls `emit(session, event)` in the same transaction as the change. The event is
written to the outbox table; the relay publishes it after commit. Who caused it
(user or API key), the request id and the client address are taken from the
request context, so that every event carries them without each caller passing them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.driver import insert_rows
from marketplace.core.logging import get_logger
from marketplace.core.outbox import OutboxEvent, UnpublishedEvent, partition_of


@dataclass(frozen=True)
class EventActor:
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    is_staff: bool = False


@dataclass(frozen=True)
class _EventContext:
    request_id: str | None
    actor: EventActor
    ip: str | None


logger = get_logger(__name__)

# Keyed by request id: a keep-alive connection serves many requests in one task, and
# a context left by the previous request must never be attributed to the next one.
_context: ContextVar[_EventContext | None] = ContextVar("event_context", default=None)


def set_event_context(actor: EventActor, ip: str | None = None) -> None:
    """Called once the request's principal (and address) are known."""
    _context.set(_EventContext(_request_id(), actor, ip))


def _current_context() -> _EventContext | None:
    context = _context.get()
    if context is None or context.request_id != _request_id():
        return None
    return context


class FieldChange(BaseModel):
    """One changed field of an update event: its value before and after."""

    model_config = ConfigDict(frozen=True)

    before: Any = None
    after: Any = None


def field_changes(current: object, new_values: Mapping[str, Any]) -> dict[str, FieldChange]:
    """The fields of `new_values` that differ from `current`'s attributes, with both
    values: call before applying them. Update events carry this as `changes`, which
    the audit log records as before/after."""
    return {
        name: FieldChange(before=getattr(current, name), after=value)
        for name, value in new_values.items()
        if getattr(current, name) != value
    }


@dataclass(frozen=True)
class EventView:
    """An event as the members of some of its companies may see it. `is_visible` is
    False when they may not see it at all: every recipient of events then leaves it out
    (no webhook, notification, live update or audit entry for them)."""

    company_ids: list[uuid.UUID]
    payload: dict[str, Any]
    is_visible: bool = True


# What a viewer that may not see an event is shown of it: nothing.
HIDDEN = EventView([], {}, is_visible=False)


class DomainEvent(BaseModel):
    """Base of every event. Subclasses set `type` (e.g. "order.placed"), `version`
    and `aggregate_type`, and implement `aggregate_id()` and `company_ids()`: the
    companies entitled to receive the event (webhooks, notifications, live updates,
    their own audit log). An event no company may see returns [] (staff-only).

    Entitled companies may still not see all of an event: an RFQ's invited suppliers
    must not learn of each other, and a supplier learns nothing of an order while it
    waits for the buyer's approval. An event whose companies must not all see the same
    thing overrides `view`; every recipient of events (webhooks, live updates,
    notifications, company audit logs) goes through `view_for`, so that this rule
    lives with the event and nowhere else."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str]

    def aggregate_id(self) -> uuid.UUID:
        raise NotImplementedError

    def company_ids(self) -> list[uuid.UUID]:
        raise NotImplementedError

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if isinstance(event_type, str):
            _EVENT_CLASSES[event_type] = cls

    @classmethod
    def view(
        cls, payload: dict[str, Any], company_ids: list[uuid.UUID], viewers: frozenset[str]
    ) -> EventView:
        """The stored event (`payload` as JSON, `company_ids`) as seen by members of the
        `viewers` companies (ids as strings, each one entitled to the event). By default
        the companies of an event (an order's buyer and supplier) all see all of it.

        The view's `company_ids` are the companies the viewers learn to be involved: a
        view that names none of the viewers hides the event from them (`view_for`)."""
        return EventView(company_ids, payload)


# Every event class that declares a type, by type: filled as the classes are defined.
_EVENT_CLASSES: dict[str, type[DomainEvent]] = {}


def event_class(event_type: str) -> type[DomainEvent] | None:
    return _EVENT_CLASSES.get(event_type)


def view_for(
    event_type: str,
    payload: dict[str, Any],
    company_ids: Collection[uuid.UUID],
    viewers: Collection[uuid.UUID],
) -> EventView:
    """The one gate between an event and a company: what members of `viewers` (the
    recipient company; a user's companies) may see of it. Only the viewers entitled to
    the event count; staff-only events (no companies) are shown whole, they reach
    staff only. An event type no loaded class declares is shown empty: nothing is
    given away by an event whose rule is unknown. An event its rule hides from the
    viewers (its view names none of them) is not visible (`is_visible` False)."""
    companies = list(company_ids)
    if not companies:
        return EventView([], payload)
    wanted = set(viewers)
    entitled = frozenset(str(company) for company in companies if company in wanted)
    known = _EVENT_CLASSES.get(event_type)
    if not entitled:
        logger.warning("events.view_refused", type=event_type, known=known is not None)
        return HIDDEN
    if known is None:
        logger.warning("events.view_refused", type=event_type, known=False)
        return EventView([company for company in companies if str(company) in entitled], {})
    view = known.view(payload, companies, entitled)
    if not any(str(company) in entitled for company in view.company_ids):
        return HIDDEN
    return view


class EventEnvelope(BaseModel):
    """What is stored, published and handed to consumers."""

    id: uuid.UUID
    type: str
    version: int
    aggregate_type: str
    aggregate_id: uuid.UUID
    company_ids: list[uuid.UUID]
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_is_staff: bool
    request_id: str | None
    ip: str | None
    occurred_at: datetime
    payload: dict[str, Any]

    @classmethod
    def from_row(cls, row: OutboxEvent | UnpublishedEvent) -> EventEnvelope:
        return cls(
            id=row.id,
            type=row.type,
            version=row.version,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            company_ids=list(row.company_ids),
            actor_user_id=row.actor_user_id,
            actor_api_key_id=row.actor_api_key_id,
            actor_is_staff=row.actor_is_staff,
            request_id=row.request_id,
            ip=row.ip,
            occurred_at=row.occurred_at,
            payload=row.payload,
        )

    def seen_by(self, viewers: Collection[uuid.UUID]) -> EventEnvelope | None:
        """This event as members of `viewers` may see it (see `view_for`); None when
        they may not see it at all."""
        view = view_for(self.type, self.payload, self.company_ids, viewers)
        if not view.is_visible:
            return None
        return self.model_copy(update={"company_ids": view.company_ids, "payload": view.payload})


def _request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


async def emit(
    session: AsyncSession,
    event: DomainEvent,
    *,
    actor: EventActor | None = None,
    write: Callable[[OutboxEvent], Awaitable[None]] | None = None,
) -> EventEnvelope:
    """Write `event` to the outbox in the caller's transaction. Nothing leaves the
    process before that transaction commits; a rollback discards the event.

    `write`: how the outbox row reaches the database when a repository writes it beside
    the rows the event announces, in one statement (`insert_rows`: one round trip on hot
    paths, e.g. `trade.orders.repository.add_placed_order`). By default it is inserted
    alone."""
    context = _current_context()
    who = actor or (context.actor if context else EventActor())
    aggregate_id = event.aggregate_id()
    row = OutboxEvent(
        id=uuid.uuid4(),
        type=event.type,
        version=event.version,
        aggregate_type=event.aggregate_type,
        aggregate_id=aggregate_id,
        partition=partition_of(aggregate_id),
        company_ids=event.company_ids(),
        actor_user_id=who.user_id,
        actor_api_key_id=who.api_key_id,
        actor_is_staff=who.is_staff,
        request_id=_request_id(),
        ip=context.ip if context else None,
        occurred_at=datetime.now(UTC),
        payload=event.model_dump(mode="json"),
    )
    if write is not None:
        await write(row)
    else:
        # Through the driver: every write emits, and the unit of work costs more than the
        # insert; the row is in the transaction all the same.
        await insert_rows(session, [row])
    session.info["outbox_dirty"] = True
    return EventEnvelope.from_row(row)
