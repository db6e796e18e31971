"""What each company of a multi-party event may see of it: an RFQ to three invited
suppliers and its quotes and award, as the real webhook, notification and audit
consumers turn them into deliveries, notifications and log entries. Changes go
through the API inside the test's transaction; the consumers then run on the events
it wrote to the outbox (the relay, on its own connections, cannot see them). Live
updates over WebSocket are in tests/realtime/test_confidentiality.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.consumers import AUDIT
from marketplace.companies.models import Company
from marketplace.core.events import EventEnvelope, view_for
from marketplace.core.outbox import OutboxEvent
from marketplace.notifications.consumers import NOTIFICATIONS
from marketplace.notifications.models import Notification
from marketplace.settings import Settings
from marketplace.webhooks.consumers import WEBHOOKS_CONSUMER
from marketplace.webhooks.delivery import request_body
from marketplace.webhooks.models import WebhookDelivery
from tests.audit.conftest import audit_log, outbox_mark
from tests.conftest import make_settings
from tests.factories import add_member, bearer_headers, make_company, make_user, platform_of
from tests.trade.conftest import ADDRESS, Market
from tests.trade.test_rfqs import future, quote

SUPPLIERS = ("supplier", "other_supplier", "third")


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Webhook endpoints on the local machine may be registered (no DNS in tests).
    return make_settings(database_url=database_url, webhook_allowed_hosts=["127.0.0.1"])


async def run_consumers(app: FastAPI, session: AsyncSession, after: int) -> list[str]:
    """The webhook, notification and audit consumers on the outbox after `after`."""
    rows = (
        await session.execute(
            select(OutboxEvent).where(OutboxEvent.seq > after).order_by(OutboxEvent.seq)
        )
    ).scalars()
    types = []
    for row in list(rows):
        envelope = EventEnvelope.from_row(row)
        for consumer in (WEBHOOKS_CONSUMER, NOTIFICATIONS, AUDIT):
            if consumer.wants(envelope.type):
                await consumer.handler(session, platform_of(app), envelope)
        types.append(row.type)
    return types


async def three_supplier_rfq(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> dict[str, Any]:
    """A third supplier joins the market; every company registers a webhook for every
    event; the buyer invites the three suppliers, each quotes, two are awarded."""
    third = await make_company(
        db_session, name="Third Steel", kind="supplier", verification_status="verified"
    )
    user = await make_user(db_session)
    await add_member(db_session, third, user, "owner")
    market.headers["third"] = await bearer_headers(app, db_session, user, third)
    companies = {
        "owner": market.buyer.id,
        "supplier": market.supplier.id,
        "other_supplier": market.other_supplier.id,
        "third": third.id,
    }
    for side, company_id in companies.items():
        hook = await client.post(
            f"/api/v1/companies/{company_id}/webhooks",
            json={"url": f"http://127.0.0.1:9/{side}", "event_types": ["*"]},
            headers=market.headers[side],
        )
        assert hook.status_code == 201, hook.text
    for company_id in companies.values():  # rfq.published notifies the sales people
        await add_member(
            db_session,
            await db_session.get_one(Company, company_id),
            await make_user(db_session),
            "sales",
        )
    mark = await outbox_mark(db_session)

    created = await client.post(
        "/api/v1/rfqs",
        json={
            "title": "Brackets",
            "items": [{"description": "Bracket B-12", "quantity": "200", "unit": "piece"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
            "visibility": "invited",
            "invited_supplier_ids": [str(companies[side]) for side in SUPPLIERS],
        },
        headers=market.headers["owner"],
    )
    assert created.status_code == 201, created.text
    rfq_id = created.json()["id"]
    published = await client.post(f"/api/v1/rfqs/{rfq_id}/publish", headers=market.headers["owner"])
    assert published.status_code == 200, published.text
    rfq = published.json()
    quotes = {
        side: await quote(client, market, rfq, side, [price])
        for side, price in zip(SUPPLIERS, ("4.00", "3.10", "3.50"), strict=True)
    }
    awarded = await client.post(
        f"/api/v1/rfqs/{rfq_id}/award",
        json={
            "lines": [
                {"rfq_item_id": rfq["items"][0]["id"], "quote_id": quotes["other_supplier"]["id"]}
            ],
            "shipping_address": ADDRESS,
        },
        headers=market.headers["owner"],
    )
    assert awarded.status_code == 201, awarded.text
    types = await run_consumers(app, db_session, mark)
    assert types[:5] == [
        "rfq.published",
        "quote.submitted",
        "quote.submitted",
        "quote.submitted",
        "order.placed",
    ]
    assert "rfq.awarded" in types
    return {
        "rfq_id": rfq_id,
        "companies": companies,
        "quotes": quotes,
        "order_ids": awarded.json()["order_ids"],
    }


async def deliveries_of(
    session: AsyncSession, company_id: uuid.UUID, rfq_id: str
) -> dict[str, list[dict[str, Any]]]:
    """The webhook request bodies sent to a company about the RFQ, by event type."""
    rows = (
        await session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.company_id == company_id)
            .order_by(WebhookDelivery.event_occurred_at)
        )
    ).scalars()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        body = orjson.loads(request_body(row))
        if body["data"].get("rfq_id") == rfq_id:
            found.setdefault(body["type"], []).append(body)
    return found


async def test_each_supplier_gets_webhooks_naming_no_other_supplier(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    world = await three_supplier_rfq(app, client, db_session, market)
    companies, quotes = world["companies"], world["quotes"]
    supplier_ids = {str(companies[side]) for side in SUPPLIERS}
    buyer = str(companies["owner"])

    for side in SUPPLIERS:
        own = str(companies[side])
        sent = await deliveries_of(db_session, companies[side], world["rfq_id"])
        text = orjson.dumps(sent).decode()
        for other in supplier_ids - {own}:
            assert other not in text  # no competitor's id anywhere in what was sent
        assert [body["data"]["supplier_ids"] for body in sent["rfq.published"]] == [[own]]
        # Its own quote only: never another supplier's.
        assert [body["data"]["quote_id"] for body in sent["quote.submitted"]] == [
            quotes[side]["id"]
        ]
        assert all(body["company_id"] == own for bodies in sent.values() for body in bodies)
        assert sent["rfq.published"][0]["data"]["buyer_id"] == buyer
    # The awarded supplier learns of its award and its own order; the others of nothing.
    winner = await deliveries_of(db_session, companies["other_supplier"], world["rfq_id"])
    assert [body["data"]["awards"] for body in winner["rfq.awarded"]] == [
        [{"supplier_id": str(companies["other_supplier"]), "order_id": world["order_ids"][0]}]
    ]
    for side in ("supplier", "third"):
        assert "rfq.awarded" not in await deliveries_of(
            db_session, companies[side], world["rfq_id"]
        )

    # The buyer sees everything it should: all invited suppliers, every quote, the award.
    sent = await deliveries_of(db_session, companies["owner"], world["rfq_id"])
    assert set(sent["rfq.published"][0]["data"]["supplier_ids"]) == supplier_ids
    assert sorted(body["data"]["quote_id"] for body in sent["quote.submitted"]) == sorted(
        quote["id"] for quote in quotes.values()
    )
    assert sent["rfq.awarded"][0]["data"]["awards"] == [
        {"supplier_id": str(companies["other_supplier"]), "order_id": world["order_ids"][0]}
    ]
    assert sent["rfq.awarded"][0]["data"]["supplier_ids"] == [str(companies["other_supplier"])]


async def test_notifications_and_audit_logs_show_each_supplier_only_itself(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    world = await three_supplier_rfq(app, client, db_session, market)
    companies = world["companies"]
    supplier_ids = {str(companies[side]) for side in SUPPLIERS}

    notes = (
        await db_session.execute(
            select(Notification).where(Notification.event_type == "rfq.published")
        )
    ).scalars()
    seen = {note.company_id: note.data["supplier_ids"] for note in notes}
    # rfq.published notifies the suppliers' members, each with its own company only.
    assert seen == {companies[side]: [str(companies[side])] for side in SUPPLIERS}

    for side in SUPPLIERS:
        own = str(companies[side])
        log = [
            entry
            for entry in await audit_log(client, market.headers[side])
            if entry["details"].get("rfq_id") == world["rfq_id"]
        ]
        assert [entry["action"] for entry in log].count("quote.submitted") == 1
        for other in supplier_ids - {own}:
            assert other not in orjson.dumps(log).decode()
    buyer_log = await audit_log(client, market.headers["owner"])
    published = next(entry for entry in buyer_log if entry["action"] == "rfq.published")
    assert set(published["details"]["supplier_ids"]) == supplier_ids


def test_the_rule_of_an_unknown_event_type_gives_nothing_away() -> None:
    company, other = uuid.uuid4(), uuid.uuid4()
    view = view_for("unknown.happened", {"secret": "x"}, [company, other], [company])
    assert view.payload == {}
    assert view.company_ids == [company]
    # A viewer the event is not for sees nothing either, even of a known type.
    known = view_for(
        "rfq.published",
        {"rfq_id": str(uuid.uuid4()), "buyer_id": str(company), "supplier_ids": [str(other)]},
        [company, other],
        [uuid.uuid4()],
    )
    assert (known.payload, known.company_ids) == ({}, [])


def test_the_worker_knows_every_declared_event_type() -> None:
    """Every event class in an `events` module of the code base is loaded in the worker
    (through the consumers' registry), so no event type falls back to the empty view."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, marketplace
        import marketplace.worker
        from marketplace.core import events
        loaded = set(events._EVENT_CLASSES)
        for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
            if module.name.endswith(".events"):
                importlib.import_module(module.name)
        everything = set(events._EVENT_CLASSES)
        assert len(everything) > 40, everything
        print(sorted(everything - loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
