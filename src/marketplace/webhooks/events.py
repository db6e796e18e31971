"""Events of the webhooks domain (audit log, notifications). They never carry a secret.

`webhook.disabled` means the platform disabled an endpoint by itself because its
deliveries kept failing (`reason: "failing"`); the company's admins should be told.
A person disabling an endpoint is a `webhook.updated` with `is_enabled` in `fields`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from marketplace.core.events import DomainEvent


class WebhookEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "webhook_endpoint"
    webhook_id: uuid.UUID
    company_id: uuid.UUID
    url: str

    def aggregate_id(self) -> uuid.UUID:
        return self.webhook_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.company_id]


class WebhookCreated(WebhookEvent):
    type: ClassVar[str] = "webhook.created"
    event_types: list[str]
    is_enabled: bool


class WebhookUpdated(WebhookEvent):
    type: ClassVar[str] = "webhook.updated"
    fields: list[str]
    event_types: list[str]
    is_enabled: bool


class WebhookDeleted(WebhookEvent):
    type: ClassVar[str] = "webhook.deleted"


class WebhookSecretRotated(WebhookEvent):
    type: ClassVar[str] = "webhook.secret_rotated"
    previous_secret_expires_at: datetime | None


class WebhookDisabled(WebhookEvent):
    type: ClassVar[str] = "webhook.disabled"
    reason: str
    failing_since: datetime
    disabled_at: datetime
    last_error: str | None


class WebhookRedeliveryRequested(WebhookEvent):
    type: ClassVar[str] = "webhook.redelivery_requested"
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
