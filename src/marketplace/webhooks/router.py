"""`/companies/{company_id}/webhooks`: endpoints, secrets and the delivery log.

Every route needs the `webhooks:manage` action: owners and admins, or an API key with
the `webhooks:manage` scope. Another company's endpoint or delivery is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import NO_STORE, PlatformDep, SessionDep
from marketplace.core.openapi import problems
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.webhooks import service
from marketplace.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    SecretRotate,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)

SIGNATURE_DOCS = """
**Verifying a delivery.** Deliveries follow the Standard Webhooks specification
(https://www.standardwebhooks.com), so its libraries verify them. Each delivery is an
HTTPS `POST` with a JSON body `{"id", "type", "created_at", "company_id", "data"}`
(`id`: the event id, the same on every retry; `data`: the event's fields) and these
headers:

- `Webhook-Id`: the event id (deduplicate on it: a delivery may arrive more than once);
- `Webhook-Type`: the event type, e.g. `api_key.created`;
- `Webhook-Timestamp`: when this attempt was signed, in Unix seconds;
- `Webhook-Signature`: `v1,<signature>`, or several such values separated by single
  spaces while a rotated secret is still valid;
- `Webhook-Attempt`: 1 for the first try, 2 for the first retry, and so on.

`signature` is the base64 HMAC-SHA256 whose key is the base64-decoded part of your
secret after `whsec_`, over `Webhook-Id + "." + Webhook-Timestamp + "." + body`: the
body bytes exactly as received, before any JSON parsing. With the `standardwebhooks`
package: `Webhook(secret).verify(body, headers)`, which also refuses timestamps more
than five minutes from your clock. Answer with any 2xx status within 10 seconds;
anything else (a redirect included) is retried after growing delays (30 s, 2 min,
10 min, 1 h, 3 h, 6 h, 12 h, 24 h, each ±50%), then the delivery is dead. An endpoint
that fails for days without a single success is disabled.
"""

router = APIRouter(prefix="/companies/{company_id}/webhooks", tags=["webhooks"])

ManageWebhooks = Annotated[Actor, acting(Action.WEBHOOKS_MANAGE, from_path=True)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    dependencies=NO_STORE,
    description='Register an endpoint for some event types (or `["*"]` for all of '
    "your company's events). The URL must be HTTPS and its host must resolve to public "
    "internet addresses. The signing secret is in this response only.\n" + SIGNATURE_DOCS,
    responses=problems(409),
)
async def create_webhook(
    body: WebhookCreate, actor: ManageWebhooks, session: SessionDep, platform: PlatformDep
) -> WebhookCreated:
    endpoint, secret = await service.create_webhook(session, platform, actor, body)
    return WebhookCreated(**service.read(endpoint).model_dump(), secret=secret)


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(
    actor: ManageWebhooks,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WebhookRead]:
    """Your company's endpoints, oldest first; never their secrets."""
    return await service.list_webhooks(session, actor.company_id, limit, cursor)


@router.get("/event-types", response_model=list[str])
async def list_event_types(actor: ManageWebhooks) -> list[str]:
    """The event types an endpoint can subscribe to (besides `*`, every type)."""
    return service.known_event_types()


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(
    webhook_id: uuid.UUID, actor: ManageWebhooks, session: SessionDep
) -> WebhookRead:
    """One endpoint: its subscription, whether it is enabled, and why not."""
    return service.read(await service.get_webhook(session, actor.company_id, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookRead)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    actor: ManageWebhooks,
    session: SessionDep,
    platform: PlatformDep,
) -> WebhookRead:
    """Change the URL, event types or description, or enable/disable the endpoint
    (`is_enabled`). Deliveries waiting while it was disabled are sent once it is
    enabled again."""
    endpoint = await service.update_webhook(session, platform, actor, webhook_id, body)
    return service.read(endpoint)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: uuid.UUID, actor: ManageWebhooks, session: SessionDep) -> None:
    """Delete the endpoint and its delivery log."""
    await service.delete_webhook(session, actor, webhook_id)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookSecret, dependencies=NO_STORE)
async def rotate_secret(
    webhook_id: uuid.UUID,
    actor: ManageWebhooks,
    session: SessionDep,
    platform: PlatformDep,
    body: Annotated[SecretRotate | None, Body()] = None,
) -> WebhookSecret:
    """A new signing secret, shown in this response only. Until
    `previous_secret_expires_at` every delivery is signed with both secrets (two `v1,`
    values), so a receiver can switch to the new one without missing a delivery."""
    secret, expires_at = await service.rotate_secret(session, platform, actor, webhook_id, body)
    return WebhookSecret(secret=secret, previous_secret_expires_at=expires_at)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: uuid.UUID,
    actor: ManageWebhooks,
    session: SessionDep,
    delivery_status: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only deliveries in this state.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """The delivery log, newest first: status, attempts, the last answer's status code
    and response time, the last error and when the next attempt is due."""
    return await service.list_deliveries(
        session, actor.company_id, webhook_id, delivery_status, limit, cursor
    )


@router.get("/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryRead)
async def get_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, actor: ManageWebhooks, session: SessionDep
) -> DeliveryRead:
    """One delivery of the log."""
    delivery = await service.get_delivery(session, actor.company_id, webhook_id, delivery_id)
    return DeliveryRead.model_validate(delivery)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=problems(409),
)
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, actor: ManageWebhooks, session: SessionDep
) -> DeliveryRead:
    """Send the delivery again now (with a fresh timestamp and signature): one more
    try for a delivered or dead one, the next retry brought forward otherwise."""
    delivery = await service.redeliver(session, actor, webhook_id, delivery_id)
    return DeliveryRead.model_validate(delivery)
