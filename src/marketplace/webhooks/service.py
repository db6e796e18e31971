"""Webhook endpoints of a company: registration, changes, secrets, the delivery log.

Every function takes the request's session and flushes, never commits. The URL of an
endpoint is checked against the SSRF rules (`ssrf.py`) whenever it is set; the sender
checks it again before each delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import Actor
from marketplace.core.errors import ValidationFailed
from marketplace.core.events import DomainEvent, EventEnvelope, emit
from marketplace.core.i18n import _, translate
from marketplace.core.pagination import (
    Page,
    decode_time_keyset,
)
from marketplace.core.platform import Platform
from marketplace.core.repository import page_of
from marketplace.settings import Settings
from marketplace.webhooks import repository
from marketplace.webhooks.errors import (
    DeliveryInProgress,
    DeliveryNotFound,
    TooManyWebhooks,
    WebhookDisabled,
    WebhookNotFound,
    WebhookUrlRefused,
)
from marketplace.webhooks.events import (
    WebhookCreated,
    WebhookDeleted,
    WebhookRedeliveryRequested,
    WebhookSecretRotated,
    WebhookUpdated,
)
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.schemas import (
    ALL_EVENT_TYPES,
    DeliveryRead,
    DeliveryStatus,
    SecretRotate,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)
from marketplace.webhooks.signing import SecretBox, new_webhook_secret
from marketplace.webhooks.ssrf import UrlRefused, check_webhook_url

MAX_ENDPOINTS_PER_COMPANY = 20

UNKNOWN_EVENT_TYPE = _("Unknown event type '{event_type}'.")


def _now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=4)
def _box(secret_key: str) -> SecretBox:
    return SecretBox(secret_key)


def secret_box(settings: Settings) -> SecretBox:
    """The cipher of webhook secrets, keyed by SECRET_KEY (derived once per key)."""
    return _box(settings.secret_key.get_secret_value())


def known_event_types() -> list[str]:
    """Every event type declared by a loaded `DomainEvent` subclass."""
    found: set[str] = set()
    pending = list(DomainEvent.__subclasses__())
    while pending:
        event_class = pending.pop()
        pending.extend(event_class.__subclasses__())
        event_type = event_class.__dict__.get("type")
        if isinstance(event_type, str):
            found.add(event_type)
    return sorted(found)


def max_attempts(settings: Settings) -> int:
    """The first try and one per delay of the retry schedule."""
    return 1 + len(settings.webhook_retry_schedule_seconds)


async def _checked_url(url: str, settings: Settings) -> str:
    try:
        checked = await check_webhook_url(url, settings)
    except UrlRefused as refused:
        raise WebhookUrlRefused.because(refused.reason) from refused
    return checked.url.url


def _check_event_types(event_types: list[str]) -> None:
    if event_types == [ALL_EVENT_TYPES]:
        return
    known = set(known_event_types())
    errors = [
        {
            "loc": ["body", "event_types", index],
            "msg": translate(UNKNOWN_EVENT_TYPE, event_type=event_type),
            "type": "unknown_event_type",
        }
        for index, event_type in enumerate(event_types)
        if event_type not in known
    ]
    if errors:
        raise ValidationFailed(errors=errors)


async def _endpoint_or_404(
    session: AsyncSession, company_id: uuid.UUID, webhook_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, company_id, webhook_id, for_update=for_update)
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


def read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.model_validate(endpoint)


# --- endpoints ----------------------------------------------------------------------


async def create_webhook(
    session: AsyncSession, platform: Platform, actor: Actor, body: WebhookCreate
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; the secret is returned here and never again."""
    url = await _checked_url(body.url, platform.settings)
    _check_event_types(body.event_types)
    await repository.lock_company_endpoints(session, actor.company_id)
    if await repository.count_endpoints(session, actor.company_id) >= MAX_ENDPOINTS_PER_COMPANY:
        raise TooManyWebhooks(limit=MAX_ENDPOINTS_PER_COMPANY)
    secret = new_webhook_secret()
    now = _now()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        company_id=actor.company_id,
        url=url,
        description=body.description,
        event_types=body.event_types,
        is_enabled=True,
        secret_encrypted=secret_box(platform.settings).encrypt(secret),
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, endpoint)
    await emit(
        session,
        WebhookCreated(
            webhook_id=endpoint.id,
            company_id=endpoint.company_id,
            url=endpoint.url,
            event_types=endpoint.event_types,
            is_enabled=True,
        ),
    )
    return endpoint, secret


async def list_webhooks(
    session: AsyncSession, company_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[WebhookRead]:
    after = decode_time_keyset(cursor)
    rows = await repository.list_endpoints(session, company_id, after, limit + 1)
    return page_of(rows, limit, read)


async def get_webhook(
    session: AsyncSession, company_id: uuid.UUID, webhook_id: uuid.UUID
) -> WebhookEndpoint:
    return await _endpoint_or_404(session, company_id, webhook_id)


async def update_webhook(
    session: AsyncSession,
    platform: Platform,
    actor: Actor,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
) -> WebhookEndpoint:
    """Change the URL, event types, description, or enable/disable. Enabling clears
    the failure record, so an endpoint disabled for failing gets a fresh start."""
    # The URL is checked (DNS included) before the row is locked, not while it is.
    url = None if body.url is None else await _checked_url(body.url, platform.settings)
    endpoint = await _endpoint_or_404(session, actor.company_id, webhook_id, for_update=True)
    now = _now()
    fields: list[str] = []
    if url is not None and url != endpoint.url:
        endpoint.url = url
        fields.append("url")
    if body.event_types is not None and body.event_types != endpoint.event_types:
        _check_event_types(body.event_types)
        endpoint.event_types = body.event_types
        fields.append("event_types")
    if body.description is not None and body.description != endpoint.description:
        endpoint.description = body.description
        fields.append("description")
    if body.is_enabled is not None and body.is_enabled != endpoint.is_enabled:
        endpoint.is_enabled = body.is_enabled
        if body.is_enabled:
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        else:
            endpoint.disabled_at = now
            endpoint.disabled_reason = "manual"
        fields.append("is_enabled")
    if fields:
        endpoint.updated_at = now
        await repository.flush(session)
        await emit(
            session,
            WebhookUpdated(
                webhook_id=endpoint.id,
                company_id=endpoint.company_id,
                url=endpoint.url,
                fields=fields,
                event_types=endpoint.event_types,
                is_enabled=endpoint.is_enabled,
            ),
        )
    return endpoint


async def delete_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> None:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    endpoint = await _endpoint_or_404(session, actor.company_id, webhook_id, for_update=True)
    await emit(
        session,
        WebhookDeleted(webhook_id=endpoint.id, company_id=endpoint.company_id, url=endpoint.url),
    )
    await repository.delete_endpoint(session, actor, endpoint.id)


async def rotate_secret(
    session: AsyncSession,
    platform: Platform,
    actor: Actor,
    webhook_id: uuid.UUID,
    body: SecretRotate | None,
) -> tuple[str, datetime | None]:
    """A new secret, returned here only. The previous one keeps signing beside it for
    the grace period (a second `v1,` signature), so receivers can switch without
    losing a delivery; a rotation during a grace period drops the oldest secret."""
    endpoint = await _endpoint_or_404(session, actor.company_id, webhook_id, for_update=True)
    settings = platform.settings
    grace = settings.webhook_secret_grace_seconds
    if body is not None and body.grace_period_seconds is not None:
        grace = body.grace_period_seconds
    now = _now()
    secret = new_webhook_secret()
    if grace > 0:
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now + timedelta(seconds=grace)
    else:
        endpoint.previous_secret_encrypted = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_encrypted = secret_box(settings).encrypt(secret)
    endpoint.updated_at = now
    await repository.flush(session)
    await emit(
        session,
        WebhookSecretRotated(
            webhook_id=endpoint.id,
            company_id=endpoint.company_id,
            url=endpoint.url,
            previous_secret_expires_at=endpoint.previous_secret_expires_at,
        ),
    )
    return secret, endpoint.previous_secret_expires_at


def signing_secrets(endpoint: WebhookEndpoint, settings: Settings, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one first."""
    box = secret_box(settings)
    secrets = [box.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted is not None
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(box.decrypt(endpoint.previous_secret_encrypted))
    return secrets


# --- deliveries ---------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    company_id: uuid.UUID,
    webhook_id: uuid.UUID,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[DeliveryRead]:
    endpoint = await _endpoint_or_404(session, company_id, webhook_id)
    before = decode_time_keyset(cursor)
    rows = await repository.list_deliveries(
        session, company_id, endpoint.id, status.value if status else None, before, limit + 1
    )
    return page_of(rows, limit, DeliveryRead.model_validate)


async def get_delivery(
    session: AsyncSession, company_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    endpoint = await _endpoint_or_404(session, company_id, webhook_id)
    delivery = await repository.get_delivery(session, company_id, endpoint.id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


async def redeliver(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send the delivery again as soon as possible, whatever its status: one more try
    for a delivered or dead one (it stays dead if that try fails too), "now" instead
    of later for one waiting for a retry."""
    endpoint = await _endpoint_or_404(session, actor.company_id, webhook_id)
    if not endpoint.is_enabled:
        raise WebhookDisabled()
    delivery = await repository.get_delivery(
        session, actor.company_id, endpoint.id, delivery_id, for_update=True
    )
    if delivery is None:
        raise DeliveryNotFound()
    now = _now()
    if delivery.claimed_until is not None and delivery.claimed_until > now:
        raise DeliveryInProgress()
    if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
        delivery.status = DeliveryStatus.PENDING.value
        delivery.max_attempts = max(delivery.max_attempts, delivery.attempts + 1)
    delivery.next_attempt_at = now
    await repository.flush(session)
    await emit(
        session,
        WebhookRedeliveryRequested(
            webhook_id=endpoint.id,
            company_id=endpoint.company_id,
            url=endpoint.url,
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
        ),
    )
    return delivery


async def create_deliveries(
    session: AsyncSession, platform: Platform, envelopes: Sequence[EventEnvelope]
) -> int:
    """One delivery per event and enabled endpoint that subscribed to it, of the
    companies entitled to it (`company_ids`): a company never receives an event
    about another company's data, and receives the event as it may see it
    (`EventEnvelope.seen_by`: an invited supplier never learns its competitors).
    Redelivered events add nothing. One query and one insert for all the events."""
    companies = {company_id for envelope in envelopes for company_id in envelope.company_ids}
    if not companies:
        return 0
    endpoints = await repository.enabled_endpoints_of(session, companies)
    now = _now()
    attempts = max_attempts(platform.settings)
    rows: list[dict[str, Any]] = []
    for envelope in envelopes:
        entitled = set(envelope.company_ids)
        seen: dict[uuid.UUID, EventEnvelope | None] = {}
        for endpoint in endpoints:
            if endpoint.company_id not in entitled or not endpoint.subscribed_to(envelope.type):
                continue
            if endpoint.company_id not in seen:
                seen[endpoint.company_id] = envelope.seen_by([endpoint.company_id])
            shown = seen[endpoint.company_id]
            if shown is None:  # the event's rule hides it from this company
                continue
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint.id,
                    "company_id": endpoint.company_id,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "event_occurred_at": envelope.occurred_at,
                    "payload": shown.payload,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "max_attempts": attempts,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    return await repository.insert_deliveries(session, rows)
