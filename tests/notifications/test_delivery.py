"""Sending after commit: never before, retried with backoff, sent once per claim."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from marketplace.core.consumers import handle_once
from marketplace.core.notifier import (
    ConsoleTransport,
    Notifier,
    OutgoingMessage,
)
from marketplace.core.platform import Platform
from marketplace.notifications import delivery, service
from marketplace.notifications.consumers import NOTIFICATIONS, wait_for_after_commit_work
from marketplace.notifications.rules import RULES
from marketplace.notifications.templates import language_of, render
from tests.notifications.conftest import World, sent_messages


class FlakyTransport:
    def __init__(self, failures: int, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.sent: list[OutgoingMessage] = []
        self.calls = 0

    async def send(self, message: OutgoingMessage) -> None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.calls <= self.failures:
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message)


def payload(company_id: uuid.UUID) -> dict[str, Any]:
    return {"company_id": str(company_id), "name": "ci", "prefix": "mpk_x"}


async def delivery_rows(world: World, event_id: uuid.UUID) -> list[Any]:
    return await world.sql(
        "SELECT status, attempts, next_attempt_at, last_error, sent_at "
        "FROM notification_deliveries WHERE event_id = :id",
        id=event_id,
    )


async def test_nothing_is_sent_for_a_transaction_that_rolls_back(
    world: World, live_platform: Platform, outbox_file: Path
) -> None:
    company = await world.company(kind="supplier")
    await world.member(company, "owner", email="owner@example.com")
    envelope = world.envelope("api_key.created", [company.id], payload(company.id))
    async with live_platform.database.session_factory() as session:
        outcome = await service.notify(session, [envelope])
        assert len(outcome.delivery_ids) == 1
        await session.rollback()
    assert await delivery.send_due(live_platform) == 0
    assert sent_messages(outbox_file) == []
    assert await delivery_rows(world, envelope.id) == []


async def test_a_failing_transport_is_retried_with_backoff_then_given_up(
    world: World, live_platform: Platform
) -> None:
    transport = FlakyTransport(failures=100)
    delivery.use_notifier(live_platform, Notifier(email=transport, sms=ConsoleTransport()))
    company = await world.company(kind="supplier")
    await world.member(company, "owner", email="owner@example.com")
    envelope = world.envelope("api_key.created", [company.id], payload(company.id))

    before = datetime.now(UTC)
    await handle_once(live_platform, NOTIFICATIONS, envelope)
    await wait_for_after_commit_work()

    [(status, attempts, next_attempt_at, last_error, sent_at)] = await delivery_rows(
        world, envelope.id
    )
    assert (status, attempts, sent_at) == ("pending", 1, None)
    assert "smtp down" in last_error
    assert (
        before + timedelta(seconds=29) < next_attempt_at < datetime.now(UTC) + timedelta(seconds=31)
    )
    # Not due yet: the periodic job leaves it alone.
    assert await delivery.send_due(live_platform) == 0
    assert transport.calls == 1

    for attempt in range(2, len(delivery.RETRY_DELAYS) + 2):
        await world.sql(
            "UPDATE notification_deliveries SET next_attempt_at = now() WHERE event_id = :id",
            id=envelope.id,
        )
        assert await delivery.send_due(live_platform) == 0
        [(status, attempts, *_rest)] = await delivery_rows(world, envelope.id)
        assert attempts == attempt
    assert status == "failed"
    assert transport.calls == len(delivery.RETRY_DELAYS) + 1


async def test_a_retry_after_a_failure_sends_once(world: World, live_platform: Platform) -> None:
    transport = FlakyTransport(failures=1)
    delivery.use_notifier(live_platform, Notifier(email=transport, sms=ConsoleTransport()))
    company = await world.company(kind="supplier")
    await world.member(company, "owner", email="owner@example.com")
    envelope = world.envelope("api_key.created", [company.id], payload(company.id))
    await handle_once(live_platform, NOTIFICATIONS, envelope)
    await wait_for_after_commit_work()
    await world.sql(
        "UPDATE notification_deliveries SET next_attempt_at = now() WHERE event_id = :id",
        id=envelope.id,
    )

    assert await delivery.send_due(live_platform) == 1
    assert await delivery.send_due(live_platform) == 0
    [(status, attempts, _next, last_error, sent_at)] = await delivery_rows(world, envelope.id)
    assert (status, attempts, last_error) == ("sent", 2, None)
    assert sent_at is not None
    assert [message.to for message in transport.sent] == ["owner@example.com"]


async def test_concurrent_senders_never_send_a_delivery_twice(
    world: World, live_platform: Platform
) -> None:
    transport = FlakyTransport(failures=0, delay=0.02)
    delivery.use_notifier(live_platform, Notifier(email=transport, sms=ConsoleTransport()))
    company = await world.company(kind="supplier")
    for index in range(12):
        await world.member(company, "admin", email=f"admin{index}@example.com")
    envelope = world.envelope("api_key.created", [company.id], payload(company.id))
    # Written but not sent yet, as if the sender died right after the commit.
    async with live_platform.database.session_factory() as session, session.begin():
        await service.notify(session, [envelope])

    results = await asyncio.gather(*(delivery.send_due(live_platform, limit=5) for _ in range(4)))
    results.append(await delivery.send_due(live_platform))

    assert sum(results) == 12
    assert sorted(message.to for message in transport.sent) == sorted(
        f"admin{index}@example.com" for index in range(12)
    )
    assert {row[0] for row in await delivery_rows(world, envelope.id)} == {"sent"}


def test_a_missing_payload_value_renders_as_a_dash() -> None:
    rendered = render(RULES["rfq.published"], {"rfq_id": "r1"}, "en")
    assert rendered.body == "A buyer published a request for quotation: -"
    assert rendered.link == "/rfqs/r1"
    assert render(RULES["rfq.published"], {}, "de").link is None


def test_locales_map_to_catalog_languages() -> None:
    assert language_of("de-AT") == "de"
    assert language_of("fr") == "fr"
    assert language_of("pt-BR") == "en"
    assert language_of("") == "en"
