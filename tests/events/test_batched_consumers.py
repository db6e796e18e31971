"""Consumers written for batches (audit, webhooks, live updates) have, on a batch of
events from several companies, exactly the effect of handling each event alone."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.consumers import AUDIT
from marketplace.audit.models import AuditEvent
from marketplace.core.bus import InProcessBus, bus_for, staff_channel, user_channel
from marketplace.core.events import EventEnvelope
from marketplace.realtime.consumers import REALTIME
from marketplace.webhooks.consumers import WEBHOOKS_CONSUMER
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import add_member, make_company, make_envelope, make_user, platform_of


def envelope(event_type: str, companies: list[uuid.UUID], **payload: Any) -> EventEnvelope:
    return make_envelope(event_type, companies, payload)


async def test_audit_records_a_batch_once_per_event(app: FastAPI, db_session: AsyncSession) -> None:
    company = uuid.uuid4()
    first, second, third = (envelope("company.updated", [company], n=i) for i in range(3))
    platform = platform_of(app)
    await AUDIT.handler(db_session, platform, first)
    assert AUDIT.batch_handler is not None
    await AUDIT.batch_handler(db_session, platform, [first, second, third])
    counts = dict(
        (
            await db_session.execute(
                select(AuditEvent.event_id, func.count())
                .where(AuditEvent.event_id.in_([first.id, second.id, third.id]))
                .group_by(AuditEvent.event_id)
            )
        ).all()
    )
    assert counts == {first.id: 1, second.id: 1, third.id: 1}


async def endpoint(
    session: AsyncSession, company_id: uuid.UUID, types: list[str], *, enabled: bool = True
) -> WebhookEndpoint:
    row = WebhookEndpoint(
        company_id=company_id,
        url="https://hooks.example.com/in",
        event_types=types,
        is_enabled=enabled,
        secret_encrypted="unused-here",
    )
    session.add(row)
    await session.flush()
    return row


async def test_webhooks_deliver_each_event_of_a_batch_to_its_subscribers(
    app: FastAPI, db_session: AsyncSession
) -> None:
    x = await make_company(db_session, kind="buyer")
    y = await make_company(db_session, kind="supplier")
    everything = await endpoint(db_session, x.id, ["*"])
    placed_only = await endpoint(db_session, y.id, ["order.placed"])
    await endpoint(db_session, y.id, ["*"], enabled=False)
    placed = envelope("order.placed", [x.id, y.id])
    shipped = envelope("order.status_changed", [y.id])
    renamed = envelope("company.updated", [x.id])
    nobody = envelope("company.updated", [uuid.uuid4()])
    assert WEBHOOKS_CONSUMER.batch_handler is not None
    await WEBHOOKS_CONSUMER.batch_handler(
        db_session, platform_of(app), [placed, shipped, renamed, nobody]
    )
    deliveries = (
        await db_session.execute(
            select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id).where(
                WebhookDelivery.event_id.in_([e.id for e in (placed, shipped, renamed, nobody)])
            )
        )
    ).all()
    assert sorted(deliveries) == sorted(
        [
            (placed.id, everything.id),
            (placed.id, placed_only.id),
            (renamed.id, everything.id),
        ]
    )


async def test_live_updates_of_a_batch_reach_exactly_the_entitled_users_in_order(
    app: FastAPI, db_session: AsyncSession
) -> None:
    x = await make_company(db_session, kind="buyer")
    y = await make_company(db_session, kind="supplier")
    both, only_x, only_y = [await make_user(db_session) for _ in range(3)]
    for company, user in ((x, both), (y, both), (x, only_x), (y, only_y)):
        await add_member(db_session, company, user, "owner")
    platform = platform_of(app)
    bus = bus_for(platform)
    assert isinstance(bus, InProcessBus)
    received: dict[str, list[str]] = {}
    await bus.start(
        lambda channel, body: received.setdefault(channel, []).append(
            orjson.loads(body)["data"]["id"]
        ),
        lambda: None,
    )
    channels = {
        "both": user_channel(bus, both.id),
        "only_x": user_channel(bus, only_x.id),
        "only_y": user_channel(bus, only_y.id),
        "staff": staff_channel(bus),
    }
    for channel in channels.values():
        await bus.subscribe(channel)
    placed = envelope("order.placed", [x.id, y.id])
    shipped = envelope("order.status_changed", [y.id])
    system = envelope("platform.notice", [])
    assert REALTIME.batch_handler is not None
    await REALTIME.batch_handler(db_session, platform, [placed, shipped, system])
    assert {name: received.get(channel, []) for name, channel in channels.items()} == {
        "both": [str(placed.id), str(shipped.id)],
        "only_x": [str(placed.id)],
        "only_y": [str(placed.id), str(shipped.id)],
        "staff": [str(system.id)],
    }
