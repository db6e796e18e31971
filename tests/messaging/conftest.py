"""Messaging tests: the trade market (a buyer with every role, two suppliers), an
order and an invited-only RFQ to talk about, and a small attachment limit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.outbox import OutboxEvent
from marketplace.messaging.models import Message, Thread, ThreadRead
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.realtime.conftest import server, start_server, world  # noqa: F401 (live fixtures)
from tests.trade.conftest import (  # noqa: F401 (live fixtures)
    Market,
    build_market,
    live_app,
    live_client,
    live_market,
    order_body,
)
from tests.trade.test_rfqs import future

ATTACHMENT_LIMIT = 4096
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        max_attachment_bytes=ATTACHMENT_LIMIT,
    )


@dataclass
class Deals:
    market: Market
    order: dict[str, Any]
    rfq: dict[str, Any]

    def headers(self, who: str) -> dict[str, str]:
        return self.market.headers[who]


async def open_rfq(client: httpx.AsyncClient, market: Market) -> dict[str, Any]:
    """An RFQ published to one invited supplier (`supplier`, not `other_supplier`)."""
    body = {
        "title": "Brackets",
        "items": [{"description": "Brackets B-12", "quantity": "200", "unit": "piece"}],
        "currency": "EUR",
        "delivery_country": "DE",
        "deadline": future(),
        "visibility": "invited",
        "invited_supplier_ids": [str(market.supplier.id)],
    }
    created = await client.post("/api/v1/rfqs", json=body, headers=market.headers["purchaser"])
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/rfqs/{created.json()['id']}/publish", headers=market.headers["purchaser"]
    )
    assert published.status_code == 200, published.text
    result: dict[str, Any] = published.json()
    return result


@pytest.fixture
async def deals(app: FastAPI, db_session: AsyncSession, client: httpx.AsyncClient) -> Deals:
    market = await build_market(app, db_session)
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 100)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    return Deals(market, placed.json(), await open_rfq(client, market))


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows of messaging and message events (to prove a refused call wrote nothing)."""
    return {
        "threads": await session.scalar(select(func.count()).select_from(Thread)) or 0,
        "messages": await session.scalar(select(func.count()).select_from(Message)) or 0,
        "reads": await session.scalar(select(func.count()).select_from(ThreadRead)) or 0,
        "events": await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == "message.posted")
        )
        or 0,
    }


def stored_files(settings: Settings) -> list[Path]:
    root = settings.storage_dir / "threads"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []
