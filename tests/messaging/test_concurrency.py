"""Concurrent requests on the real application (each request its own committed
transaction): one thread per subject and supplier, every message counted."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from marketplace.messaging.models import Message, Thread
from tests.factories import platform_of
from tests.trade.conftest import Market, order_body


async def test_concurrent_opens_of_one_subject_create_one_thread_and_posts_all_land(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_market: Market
) -> None:
    market = live_market
    placed = await live_client.post(
        "/api/v1/orders", json=order_body((market.bolts, 100)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    openers = ["owner", "admin", "purchaser", "sales", "supplier"] * 3
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/v1/threads",
                json={"subject_type": "order", "subject_id": order_id},
                headers=market.headers[who],
            )
            for who in openers
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * (len(openers) - 1) + [201], [r.text for r in responses]
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == 1
    thread_id = ids.pop()

    posts = await asyncio.gather(
        *(
            live_client.post(
                f"/api/v1/threads/{thread_id}/messages",
                json={"body": f"message {index}"},
                headers=market.headers["supplier" if index % 2 else "purchaser"],
            )
            for index in range(12)
        )
    )
    assert [response.status_code for response in posts] == [201] * 12
    async with platform_of(live_app).database.session_factory() as session:
        threads = await session.scalar(
            select(func.count()).select_from(Thread).where(Thread.subject_id == order_id)
        )
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.thread_id == thread_id)
        )
        last = await session.scalar(select(Thread.last_message_at).where(Thread.id == thread_id))
        newest = await session.scalar(
            select(func.max(Message.created_at)).where(Message.thread_id == thread_id)
        )
    assert (threads, messages) == (1, 12)
    assert last == newest  # activity only ever moves forward
