"""Every query of the webhooks domain.

Tenant scoping: endpoints and deliveries are read and changed through the tenancy
gate (`core.tenancy`, their `company_id`), so another company's ids are simply not
found; the sender and the fan-out of events, which act for no request, say why not.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import Actor
from marketplace.core.driver import EntityQuery
from marketplace.core.pagination import TimeKeyset
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.core.repository import keyset
from marketplace.core.tenancy import changeable, readable, unscoped
from marketplace.webhooks.models import OPEN_STATUSES, WebhookDelivery, WebhookEndpoint

_COMPANY_LOCK_BASE = 8_300_000_000
SENDER = "the sender, outside any request: deliveries are already per company"


# --- endpoints ----------------------------------------------------------------------


async def lock_company_endpoints(session: AsyncSession, company_id: uuid.UUID) -> None:
    """Serialise registrations of one company until commit, so that the endpoint
    count checked under it stays true (no check-then-act race on the limit)."""
    key = _COMPANY_LOCK_BASE + zlib.crc32(company_id.bytes)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def count_endpoints(session: AsyncSession, company_id: uuid.UUID) -> int:
    statement = readable(
        select(func.count()).select_from(WebhookEndpoint), WebhookEndpoint, company_id
    )
    return int(await session.scalar(statement) or 0)


async def get_endpoint(
    session: AsyncSession, company_id: uuid.UUID, webhook_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    """The company's endpoint, or None (another company's too)."""
    statement = readable(select(WebhookEndpoint), WebhookEndpoint, company_id).where(
        WebhookEndpoint.id == webhook_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_endpoints(
    session: AsyncSession, company_id: uuid.UUID, after: TimeKeyset | None, limit: int
) -> list[WebhookEndpoint]:
    statement = keyset(
        readable(select(WebhookEndpoint), WebhookEndpoint, company_id),
        (WebhookEndpoint.created_at, WebhookEndpoint.id),
        after,
        limit,
        descending=False,
    )
    return list((await session.execute(statement)).scalars())


async def delete_endpoint(session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        changeable(delete(WebhookEndpoint), WebhookEndpoint, actor).where(
            WebhookEndpoint.id == endpoint_id
        )
    )


# Through the driver (core/driver.py): the "webhooks" consumer asks this for every
# batch of events, with as many companies as the batch names; as `IN (...)` through
# SQLAlchemy each list length was a statement of its own to render and to prepare.
_ENABLED_ENDPOINTS_OF = EntityQuery(
    (WebhookEndpoint,),
    lambda columns: unscoped(
        columns, reason="an event's fan-out to the endpoints of the companies it concerns"
    ).where(
        WebhookEndpoint.company_id == any_(bindparam("company_ids", type_=ARRAY(Uuid))),
        WebhookEndpoint.is_enabled.is_(True),
    ),
)


async def enabled_endpoints_of(
    session: AsyncSession, company_ids: Collection[uuid.UUID]
) -> list[WebhookEndpoint]:
    # The fan-out of one event to the companies it concerns (each gets its own view).
    rows = await _ENABLED_ENDPOINTS_OF.fetch(session, company_ids=list(company_ids))
    return [endpoint for (endpoint,) in rows]


async def endpoints_by_id(
    session: AsyncSession, endpoint_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookEndpoint]:
    statement = unscoped(select(WebhookEndpoint), reason=SENDER).where(
        WebhookEndpoint.id.in_(list(endpoint_ids))
    )
    return {row.id: row for row in (await session.execute(statement)).scalars()}


async def record_endpoint_success(
    session: AsyncSession, endpoint_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        unscoped(update(WebhookEndpoint), reason=SENDER)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=None, last_success_at=now)
    )


async def record_endpoint_failure(
    session: AsyncSession, endpoint_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        unscoped(update(WebhookEndpoint), reason=SENDER)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=func.coalesce(WebhookEndpoint.failing_since, now))
    )


async def disable_if_failing_since(
    session: AsyncSession, endpoint_id: uuid.UUID, cutoff: datetime, now: datetime
) -> WebhookEndpoint | None:
    """Disable the endpoint if it is enabled and has been failing since `cutoff` or
    earlier; the row when this call disabled it (exactly one caller wins)."""
    statement = (
        unscoped(update(WebhookEndpoint), reason=SENDER)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.is_enabled.is_(True),
            WebhookEndpoint.failing_since <= cutoff,
        )
        .values(is_enabled=False, disabled_at=now, disabled_reason="failing", updated_at=now)
        .returning(WebhookEndpoint)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


# --- deliveries ---------------------------------------------------------------------


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert; a delivery of the same event to the same endpoint is left as it is."""
    if not rows:
        return 0
    statement = (
        insert(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(WebhookDelivery.id)
    )
    return len((await session.execute(statement)).all())


async def list_deliveries(
    session: AsyncSession,
    company_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    status: str | None,
    before: TimeKeyset | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first."""
    statement = readable(select(WebhookDelivery), WebhookDelivery, company_id).where(
        WebhookDelivery.endpoint_id == endpoint_id
    )
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    statement = keyset(statement, (WebhookDelivery.created_at, WebhookDelivery.id), before, limit)
    return list((await session.execute(statement)).scalars())


async def get_delivery(
    session: AsyncSession,
    company_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookDelivery | None:
    statement = readable(select(WebhookDelivery), WebhookDelivery, company_id).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def claim_due_deliveries(
    session: AsyncSession, now: datetime, claimed_until: datetime, token: uuid.UUID, limit: int
) -> list[WebhookDelivery]:
    """Due deliveries of enabled endpoints, oldest due first, claimed for one sender
    until `claimed_until`. Rows another sender is claiming right now are skipped
    (`SKIP LOCKED`), so any number of senders can run."""
    due = (
        unscoped(select(WebhookDelivery.id), reason=SENDER)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status.in_(OPEN_STATUSES),
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            WebhookEndpoint.is_enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    statement = (
        unscoped(update(WebhookDelivery), reason=SENDER)
        .where(WebhookDelivery.id.in_(ids))
        .values(claimed_until=claimed_until, claim_token=token)
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(statement)).scalars())


async def record_attempt(
    session: AsyncSession, delivery_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]
) -> WebhookDelivery | None:
    """Store an attempt's outcome if this sender's claim still holds (else None: the
    claim ran out and another sender took the delivery over, or it was deleted)."""
    statement = (
        unscoped(update(WebhookDelivery), reason=SENDER)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token)
        .values(claimed_until=None, claim_token=None, **values)
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
