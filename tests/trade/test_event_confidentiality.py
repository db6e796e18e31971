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
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.audit.consumers import AUDIT
from marketplace.companies.models import Company, Membership
from marketplace.core.events import EventEnvelope, view_for
from marketplace.core.outbox import OutboxEvent
from marketplace.notifications.consumers import NOTIFICATIONS
from marketplace.notifications.models import Notification, NotificationDelivery
from marketplace.settings import Settings
from marketplace.webhooks.consumers import WEBHOOKS_CONSUMER
from marketplace.webhooks.delivery import request_body
from marketplace.webhooks.models import WebhookDelivery
from tests.audit.conftest import audit_log, outbox_mark
from tests.conftest import make_settings
from tests.factories import add_member, bearer_headers, make_company, make_user, platform_of
from tests.trade.conftest import ADDRESS, Market, order_body
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
        [
            {
                "supplier_id": str(companies["other_supplier"]),
                "order_id": world["order_ids"][0],
                "released": True,
            }
        ]
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
        {
            "supplier_id": str(companies["other_supplier"]),
            "order_id": world["order_ids"][0],
            "released": True,
        }
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


# --- an order awaiting the buyer's approval ------------------------------------------------


def order_event(buyer: uuid.UUID, supplier: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "order_id": str(uuid.uuid4()),
        "number": "ORD-2026-000042",
        "buyer_id": str(buyer),
        "supplier_id": str(supplier),
        **fields,
    }


@pytest.mark.parametrize(
    ("event_type", "fields", "supplier_sees"),
    [
        ("order.placed", {"status": "pending_approval"}, None),
        ("order.placed", {"status": "placed"}, {}),
        (
            "order.status_changed",
            {"action": "approve", "from_status": "pending_approval", "to_status": "placed"},
            {"reason": None},
        ),
        (
            "order.status_changed",
            {"action": "decline", "from_status": "pending_approval", "to_status": "cancelled"},
            None,
        ),
        (
            "order.status_changed",
            {"action": "cancel", "from_status": "pending_approval", "to_status": "cancelled"},
            None,
        ),
        (
            "order.status_changed",
            {"action": "cancel", "from_status": "placed", "to_status": "cancelled"},
            {},
        ),
        (
            "order.status_changed",
            {"action": "reject", "from_status": "placed", "to_status": "rejected"},
            {},
        ),
    ],
)
def test_a_supplier_sees_an_order_once_approved_and_never_the_approval_note(
    event_type: str, fields: dict[str, Any], supplier_sees: dict[str, Any] | None
) -> None:
    buyer, supplier = uuid.uuid4(), uuid.uuid4()
    payload = order_event(buyer, supplier, **fields, reason="ok for site Altona")
    if event_type == "order.placed":
        payload = order_event(
            buyer, supplier, **fields, currency="EUR", total="120.00", source="direct"
        )
    companies = [buyer, supplier]

    # The buyer's members see all of it; so does a user who is a member of both.
    for viewers in ([buyer], [buyer, supplier]):
        view = view_for(event_type, payload, companies, viewers)
        assert (view.is_visible, view.payload, view.company_ids) == (True, payload, companies)
    seen = view_for(event_type, payload, companies, [supplier])
    envelope = EventEnvelope(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        aggregate_type="order",
        aggregate_id=uuid.UUID(payload["order_id"]),
        company_ids=companies,
        actor_user_id=None,
        actor_api_key_id=None,
        actor_is_staff=False,
        request_id=None,
        ip=None,
        occurred_at=datetime.now(UTC),
        payload=payload,
    )
    if supplier_sees is None:
        assert (seen.is_visible, seen.payload, seen.company_ids) == (False, {}, [])
        assert envelope.seen_by([supplier]) is None
    else:
        assert (seen.is_visible, seen.company_ids) == (True, companies)
        assert seen.payload == {**payload, **supplier_sees}
        shown = envelope.seen_by([supplier])
        assert shown is not None
        assert shown.payload == seen.payload
    # Another company sees nothing of it.
    assert not view_for(event_type, payload, companies, [uuid.uuid4()]).is_visible


async def register_webhooks(
    client: httpx.AsyncClient, market: Market, sides: tuple[str, ...]
) -> None:
    companies = {"owner": market.buyer.id, "supplier": market.supplier.id}
    for side in sides:
        hook = await client.post(
            f"/api/v1/companies/{companies[side]}/webhooks",
            json={"url": f"http://127.0.0.1:9/{side}", "event_types": ["*"]},
            headers=market.headers[side],
        )
        assert hook.status_code == 201, hook.text


async def members_of(session: AsyncSession, company_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    rows = await session.execute(
        select(Membership.role, Membership.user_id).where(Membership.company_id == company_id)
    )
    found: dict[str, list[uuid.UUID]] = {}
    for role, user_id in rows:
        found.setdefault(role, []).append(user_id)
    return found


async def told_about(
    session: AsyncSession, company_id: uuid.UUID, order_id: str
) -> dict[str, list[Any]]:
    """Everything the company was sent or shown about the order: webhook bodies,
    notifications (with their e-mails and SMS), by kind."""
    hooks = (
        await session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.company_id == company_id)
            .order_by(WebhookDelivery.event_occurred_at)
        )
    ).scalars()
    sent: dict[str, list[Any]] = {"webhooks": [], "notifications": [], "deliveries": []}
    for row in hooks:
        body = orjson.loads(request_body(row))
        if body["data"].get("order_id") == order_id:
            sent["webhooks"].append(body)
    notes = (
        await session.execute(
            select(Notification)
            .where(Notification.company_id == company_id)
            .order_by(Notification.created_at)
        )
    ).scalars()
    for note in notes:
        if note.data.get("order_id") == order_id:
            sent["notifications"].append(note)
            sent["deliveries"] += (
                await session.execute(
                    select(NotificationDelivery.channel, NotificationDelivery.body).where(
                        NotificationDelivery.event_id == note.event_id,
                        NotificationDelivery.user_id == note.user_id,
                    )
                )
            ).all()
    return sent


async def test_an_order_awaiting_approval_reaches_the_supplier_only_once_approved(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    """The real webhook, notification and audit consumers: while the order waits, its
    supplier is sent nothing and the buyer's approvers are told; after the approval
    the supplier gets the order without the buyer's note, the purchaser the outcome."""
    await register_webhooks(client, market, ("owner", "supplier"))
    sales = await make_user(db_session)
    await add_member(db_session, market.supplier, sales, "sales")
    buyers = await members_of(db_session, market.buyer.id)
    mark = await outbox_mark(db_session)

    placed = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 300)), headers=market.headers["purchaser"]
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "pending_approval"
    assert await run_consumers(app, db_session, mark) == ["order.placed"]

    supplier_sent = await told_about(db_session, market.supplier.id, order["id"])
    assert supplier_sent == {"webhooks": [], "notifications": [], "deliveries": []}
    assert [
        entry
        for entry in await audit_log(client, market.headers["supplier"])
        if entry["target"]["id"] == order["id"]
    ] == []
    buyer_sent = await told_about(db_session, market.buyer.id, order["id"])
    assert [body["type"] for body in buyer_sent["webhooks"]] == ["order.placed"]
    # Everyone who may approve: the owner and the admin (in the app and by e-mail).
    approvers = {note.user_id: note for note in buyer_sent["notifications"]}
    assert set(approvers) == {*buyers["owner"], *buyers["admin"]}
    assert {note.title for note in approvers.values()} == {
        f"Order {order['number']} needs your approval"
    }
    assert sorted(channel for channel, _body in buyer_sent["deliveries"]) == ["email", "email"]

    mark = await outbox_mark(db_session)
    approved = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "approve", "reason": "ok for site Altona"},
        headers=market.headers["admin"],
    )
    assert approved.status_code == 200, approved.text
    assert await run_consumers(app, db_session, mark) == ["order.status_changed"]

    supplier_sent = await told_about(db_session, market.supplier.id, order["id"])
    assert (
        "Altona"
        not in orjson.dumps(
            [supplier_sent["webhooks"], [note.data for note in supplier_sent["notifications"]]]
        ).decode()
    )
    assert not any("Altona" in body for _channel, body in supplier_sent["deliveries"])
    [hook] = supplier_sent["webhooks"]
    assert (hook["type"], hook["data"]["to_status"], hook["data"]["reason"]) == (
        "order.status_changed",
        "placed",
        None,
    )
    # The supplier's owner and sales are told of a new order, by e-mail too.
    assert {note.user_id for note in supplier_sent["notifications"]} == {
        *(await members_of(db_session, market.supplier.id))["owner"],
        sales.id,
    }
    assert {note.title for note in supplier_sent["notifications"]} == {
        f"New order {order['number']}"
    }
    assert len(supplier_sent["deliveries"]) == 2
    supplier_log = [
        entry
        for entry in await audit_log(client, market.headers["supplier"])
        if entry["target"]["id"] == order["id"]
    ]
    assert [(entry["action"], entry["details"]["reason"]) for entry in supplier_log] == [
        ("order.status_changed", None)
    ]

    # The buyer's side: the purchaser (and the owner) learn the outcome with the note.
    buyer_sent = await told_about(db_session, market.buyer.id, order["id"])
    outcome = {
        note.user_id: note
        for note in buyer_sent["notifications"]
        if note.event_type == "order.status_changed"
    }
    assert set(outcome) == {*buyers["owner"], *buyers["purchaser"]}
    purchaser_note = outcome[buyers["purchaser"][0]]
    assert purchaser_note.title == f"Order {order['number']} was approved"
    assert purchaser_note.body.endswith("Note: ok for site Altona")
    buyer_log = await audit_log(client, market.headers["owner"], target_type="order")
    assert [(entry["action"], entry["details"].get("reason")) for entry in buyer_log] == [
        ("order.status_changed", "ok for site Altona"),
        ("order.placed", None),
    ]


async def test_a_declined_order_never_reaches_the_supplier(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, market: Market
) -> None:
    await register_webhooks(client, market, ("supplier",))
    buyers = await members_of(db_session, market.buyer.id)
    mark = await outbox_mark(db_session)
    order = (
        await client.post(
            "/api/v1/orders",
            json=order_body((market.bolts, 300)),
            headers=market.headers["purchaser"],
        )
    ).json()
    declined = await client.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"action": "decline", "reason": "over budget for Q4"},
        headers=market.headers["owner"],
    )
    assert declined.status_code == 200, declined.text
    assert await run_consumers(app, db_session, mark) == ["order.placed", "order.status_changed"]

    assert await told_about(db_session, market.supplier.id, order["id"]) == {
        "webhooks": [],
        "notifications": [],
        "deliveries": [],
    }
    assert [
        entry
        for entry in await audit_log(client, market.headers["supplier"])
        if entry["target"]["id"] == order["id"]
    ] == []
    outcome = [
        note
        for note in (await told_about(db_session, market.buyer.id, order["id"]))["notifications"]
        if note.event_type == "order.status_changed"
    ]
    assert {note.user_id for note in outcome} == {*buyers["admin"], *buyers["purchaser"]}
    assert {(note.title, note.body) for note in outcome} == {
        (
            f"Order {order['number']} was declined",
            f"Order {order['number']} was declined and not sent to the supplier. "
            "Reason: over budget for Q4",
        )
    }
