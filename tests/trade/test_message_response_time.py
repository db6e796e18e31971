"""The supplier's message response time on its public profile: from each buyer message
that starts a turn in a thread to the supplier's next message, median over the
answered turns. Messages are posted through the API, then dated (within one test
transaction they would all share its start time)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.messaging.models import Message
from marketplace.trade.reviews.consumers import TRUST_CACHE
from tests.trade.conftest import Market, order_body
from tests.trade.test_reviews import (
    cached_trust,
    deliver_events,
    order_until,
    outbox_position,
    trust_of,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def open_thread(client: httpx.AsyncClient, market: Market, order_id: str) -> str:
    response = await client.post(
        "/api/v1/threads",
        json={"subject_type": "order", "subject_id": order_id},
        headers=market.headers["owner"],
    )
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def conversation(
    client: httpx.AsyncClient,
    session: AsyncSession,
    market: Market,
    thread_id: str,
    lines: list[tuple[str, int]],
) -> None:
    """Post each (who, seconds after START) message and date it."""
    for who, seconds in lines:
        posted = await client.post(
            f"/api/v1/threads/{thread_id}/messages",
            json={"body": f"{who} at {seconds}"},
            headers=market.headers[who],
        )
        assert posted.status_code == 201, posted.text
        await session.execute(
            update(Message)
            .where(Message.id == uuid.UUID(posted.json()["id"]))
            .values(created_at=START + timedelta(seconds=seconds))
        )


async def test_the_median_counts_each_buyer_turn_once_until_the_suppliers_reply(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    first = await open_thread(client, market, await order_until(client, market, "placed"))
    await conversation(
        client,
        db_session,
        market,
        first,
        [
            ("owner", 0),  # starts a turn: answered after 600 s
            ("owner", 30),  # the same turn: not counted again
            ("supplier", 600),
            ("owner", 1000),  # answered after 60 s
            ("supplier", 1060),
            ("supplier", 1100),  # a second supplier message answers nothing
            ("owner", 2000),  # not answered (yet): left out
        ],
    )
    second = await open_thread(client, market, await order_until(client, market, "placed"))
    await conversation(
        client,
        db_session,
        market,
        second,
        [("supplier", 0), ("owner", 10), ("supplier", 7210)],  # answered after 7200 s
    )
    # The other supplier's conversation is its own figure.
    other_order = await client.post(
        "/api/v1/orders", json=order_body((market.nuts, 1)), headers=market.headers["owner"]
    )
    assert other_order.status_code == 201, other_order.text
    third = await open_thread(client, market, other_order.json()["id"])
    await conversation(client, db_session, market, third, [("owner", 0), ("other_supplier", 5)])

    trust = await trust_of(client, market.supplier.id)
    assert trust["message_response_median_seconds"] == 600
    assert trust["message_response_count"] == 3
    other = await trust_of(client, market.other_supplier.id)
    assert (other["message_response_median_seconds"], other["message_response_count"]) == (5, 1)


async def test_no_answered_turn_means_no_figure(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    thread = await open_thread(client, market, await order_until(client, market, "placed"))
    # The supplier writing first, and a buyer message never answered: nothing to measure.
    await conversation(client, db_session, market, thread, [("supplier", 0), ("owner", 60)])
    trust = await trust_of(client, market.supplier.id)
    assert trust["message_response_median_seconds"] is None
    assert trust["message_response_count"] == 0


async def test_a_suppliers_message_refreshes_the_cached_trust_and_a_buyers_does_not(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    assert TRUST_CACHE.wants("message.posted")
    thread = await open_thread(client, market, await order_until(client, market, "placed"))
    await trust_of(client, market.supplier.id)  # cached: no message yet

    before = await outbox_position(db_session)
    await conversation(client, db_session, market, thread, [("owner", 0)])
    handled = await deliver_events(app, db_session, before)
    assert [kind for kind, _payload in handled] == ["message.posted"]
    assert await cached_trust(app, market.supplier.id) is not None

    before = await outbox_position(db_session)
    await conversation(client, db_session, market, thread, [("supplier", 90)])
    handled = await deliver_events(app, db_session, before)
    assert [kind for kind, _payload in handled] == ["message.posted"]
    assert await cached_trust(app, market.supplier.id) is None
    fresh = await trust_of(client, market.supplier.id)
    assert (fresh["message_response_median_seconds"], fresh["message_response_count"]) == (90, 1)
