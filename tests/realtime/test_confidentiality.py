"""Live updates of an RFQ to three invited suppliers, against a real server: each
supplier's WebSocket messages (live and resumed) name no other supplier, and quotes
never reach another supplier; the buyer sees every supplier and every quote."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from marketplace.catalog.models import Product
from marketplace.companies.models import Company
from marketplace.identity.models import User
from marketplace.realtime import service as realtime
from tests.factories import make_product
from tests.notifications.conftest import World
from tests.realtime.conftest import (
    WAIT_SECONDS,
    LiveServer,
    gather_messages,
    next_of,
    open_socket,
    quiet_for,
    receive,
)


async def call(
    server: LiveServer,
    world: World,
    user: User,
    company: Company,
    path: str,
    body: Any = None,
    *,
    expected: int = 201,
) -> dict[str, Any]:
    """POST as `user` acting for `company`; creations answer 201, actions (`expected`) 200."""
    headers = {
        "Authorization": f"Bearer {await world.access_token(user)}",
        "X-Company-ID": str(company.id),
    }
    async with server.http() as http:
        response = await http.post(path, json=body, headers=headers)
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


async def events_until(ws: ClientConnection, event_type: str) -> list[dict[str, Any]]:
    """Live events up to and including the first of `event_type`."""
    seen = []
    while True:
        message = await next_of(ws, {"event"})
        seen.append(message["data"])
        if message["data"]["type"] == event_type:
            return seen


async def test_each_supplier_sees_only_itself_live_and_on_resume(
    server: LiveServer, world: World
) -> None:
    buyer = await world.company(kind="buyer")
    buyer_owner = await world.member(buyer, "owner")
    suppliers = [await world.company(kind="supplier") for _ in range(3)]
    owners = [await world.member(supplier, "owner") for supplier in suppliers]
    await world.sql(
        "UPDATE companies SET verification_status = 'verified' WHERE id = ANY(:ids)",
        ids=[supplier.id for supplier in suppliers],
    )
    all_suppliers = {str(supplier.id) for supplier in suppliers}
    # An event of the second supplier before the RFQ, to resume from later.
    await call(
        server,
        world,
        owners[1],
        suppliers[1],
        f"/api/v1/companies/{suppliers[1].id}/api-keys",
        {"name": "erp", "scopes": ["catalog:read"]},
    )
    [(marker,)] = await world.sql(
        "SELECT id FROM outbox_events WHERE type = 'api_key.created' AND :id = ANY(company_ids)",
        id=suppliers[1].id,
    )

    async with (
        open_socket(
            server.ws_url(f"?access_token={await world.access_token(buyer_owner)}")
        ) as buyer_ws,
        open_socket(server.ws_url(f"?access_token={await world.access_token(owners[0])}")) as ws0,
        open_socket(server.ws_url(f"?access_token={await world.access_token(owners[1])}")) as ws1,
        open_socket(server.ws_url(f"?access_token={await world.access_token(owners[2])}")) as ws2,
    ):
        supplier_sockets = [ws0, ws1, ws2]
        for ws in (buyer_ws, *supplier_sockets):
            assert (await receive(ws))["type"] == "welcome"

        rfq = await call(
            server,
            world,
            buyer_owner,
            buyer,
            "/api/v1/rfqs",
            {
                "title": "Brackets",
                "items": [{"description": "Bracket B-12", "quantity": "200", "unit": "piece"}],
                "currency": "EUR",
                "delivery_country": "DE",
                "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
                "visibility": "invited",
                "invited_supplier_ids": sorted(all_suppliers),
            },
        )
        rfq = await call(
            server, world, buyer_owner, buyer, f"/api/v1/rfqs/{rfq['id']}/publish", expected=200
        )
        published: list[dict[str, Any]] = []
        for supplier, ws in zip(suppliers, supplier_sockets, strict=True):
            event = (await events_until(ws, "rfq.published"))[-1]
            assert event["payload"]["supplier_ids"] == [str(supplier.id)]
            assert event["company_ids"] == [str(buyer.id), str(supplier.id)]
            published.append(event)
        buyer_published = (await events_until(buyer_ws, "rfq.published"))[-1]
        assert set(buyer_published["payload"]["supplier_ids"]) == all_suppliers
        assert set(buyer_published["company_ids"]) == {str(buyer.id), *all_suppliers}

        # The first supplier quotes: the buyer is told, the other suppliers are not.
        quoted = await call(
            server,
            world,
            owners[0],
            suppliers[0],
            f"/api/v1/rfqs/{rfq['id']}/quotes",
            {
                "items": [{"rfq_item_id": rfq["items"][0]["id"], "unit_price": "3.10"}],
                "valid_until": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
                "lead_time_days": 5,
                "payment_terms": "net_30",
            },
        )
        buyer_quote = (await events_until(buyer_ws, "quote.submitted"))[-1]
        assert buyer_quote["payload"]["quote_id"] == quoted["id"]
        own_quote = (await events_until(ws0, "quote.submitted"))[-1]
        assert own_quote["payload"]["quote_id"] == quoted["id"]
        for ws in (ws1, ws2):
            assert [
                message for message in await quiet_for(ws, 1.0) if message["type"] == "event"
            ] == []

    # The second supplier reconnects and resumes from before the RFQ: it is replayed as
    # this supplier sees it, and the first supplier's quote is not replayed at all.
    async with open_socket(
        server.ws_url(f"?access_token={await world.access_token(owners[1])}")
    ) as ws:
        assert (await receive(ws))["type"] == "welcome"
        await ws.send(orjson.dumps({"type": "resume", "after": str(marker)}).decode())
        replay = []
        while (message := await next_of(ws, {"event", "resumed"}))["type"] != "resumed":
            replay.append(message["data"])
    assert [event["type"] for event in replay] == ["rfq.published"]
    assert replay[0]["payload"]["supplier_ids"] == [str(suppliers[1].id)]
    assert replay[0]["company_ids"] == [str(buyer.id), str(suppliers[1].id)]


async def order_market(world: World) -> tuple[Company, dict[str, User], Company, User, Product]:
    """A buyer whose purchaser may spend 10.00 without approval, a verified supplier
    with only an owner, and one of its products (committed)."""
    buyer = await world.company(kind="buyer")
    people = {role: await world.member(buyer, role) for role in ("owner", "purchaser")}
    await world.sql(
        "UPDATE memberships SET spending_limit = 10 WHERE user_id = :id",
        id=people["purchaser"].id,
    )
    supplier = await world.company(kind="supplier")
    supplier_owner = await world.member(supplier, "owner")
    await world.sql(
        "UPDATE companies SET verification_status = 'verified' WHERE id = :id", id=supplier.id
    )
    async with world.platform.database.session_factory() as session:
        product = await make_product(session, supplier=supplier, tiers=((1, "5.00"),), stock=100)
        await session.commit()
    return buyer, people, supplier, supplier_owner, product


async def place_for_approval(
    server: LiveServer, world: World, purchaser: User, buyer: Company, product: Product
) -> dict[str, Any]:
    order = await call(
        server,
        world,
        purchaser,
        buyer,
        "/api/v1/orders",
        {
            "lines": [{"product_id": str(product.id), "quantity": "3"}],
            "shipping_address": {
                "line1": "Hafenstrasse 1",
                "city": "Hamburg",
                "postal_code": "20457",
                "country": "DE",
            },
        },
    )
    assert order["status"] == "pending_approval"
    return order


async def handled(world: World, consumer: str, event_id: uuid.UUID) -> None:
    """Wait until the consumer has handled the event (its inbox row is committed)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await world.sql(
        "SELECT 1 FROM processed_events WHERE consumer = :consumer AND event_id = :id",
        consumer=consumer,
        id=event_id,
    ):
        assert time.monotonic() < deadline, f"{consumer} did not handle {event_id}"
        await asyncio.sleep(0.05)


async def forget_orders(world: World, buyer: Company) -> None:
    """Orders keep their companies (RESTRICT): removed before the world cleans up."""
    await world.sql("DELETE FROM orders WHERE buyer_id = :id", id=buyer.id)


async def test_a_supplier_gets_no_live_word_of_an_order_until_it_is_approved(
    server: LiveServer, world: World
) -> None:
    buyer, people, supplier, supplier_owner, product = await order_market(world)
    try:
        # An event of the supplier before the order, to resume from later.
        await call(
            server,
            world,
            supplier_owner,
            supplier,
            f"/api/v1/companies/{supplier.id}/api-keys",
            {"name": "erp", "scopes": ["orders:read"]},
        )
        [(marker,)] = await world.sql(
            "SELECT id FROM outbox_events WHERE type = 'api_key.created' "
            "AND :id = ANY(company_ids)",
            id=supplier.id,
        )
        await handled(world, "realtime", marker)  # published before the sockets open
        async with (
            open_socket(
                server.ws_url(f"?access_token={await world.access_token(people['owner'])}")
            ) as buyer_ws,
            open_socket(
                server.ws_url(f"?access_token={await world.access_token(supplier_owner)}")
            ) as supplier_ws,
        ):
            for ws in (buyer_ws, supplier_ws):
                assert (await receive(ws))["type"] == "welcome"
            order = await place_for_approval(server, world, people["purchaser"], buyer, product)

            # The buyer's owner sees the order live and is asked to approve it.
            found = await gather_messages(buyer_ws, {"event": 1, "notification": 1})
            assert found["event"][0]["data"]["type"] == "order.placed"
            assert found["notification"][0]["data"]["title"] == (
                f"Order {order['number']} needs your approval"
            )
            assert await quiet_for(supplier_ws, 1.5) == []

            await call(
                server,
                world,
                people["owner"],
                buyer,
                f"/api/v1/orders/{order['id']}/transitions",
                {"action": "approve", "reason": "ok for site Altona"},
                expected=200,
            )
            found = await gather_messages(supplier_ws, {"event": 1, "notification": 1})
            event = found["event"][0]["data"]
            assert (event["type"], event["payload"]["action"], event["payload"]["reason"]) == (
                "order.status_changed",
                "approve",
                None,
            )
            assert found["notification"][0]["data"]["title"] == f"New order {order['number']}"
            assert "Altona" not in orjson.dumps(found).decode()

        # Resumed from before the order: the approval only, still without the note.
        async with open_socket(
            server.ws_url(f"?access_token={await world.access_token(supplier_owner)}")
        ) as ws:
            assert (await receive(ws))["type"] == "welcome"
            await ws.send(orjson.dumps({"type": "resume", "after": str(marker)}).decode())
            replay = []
            while (message := await next_of(ws, {"event", "notification", "resumed"}))[
                "type"
            ] != "resumed":
                replay.append(message)
        events = [item["data"]["type"] for item in replay if item["type"] == "event"]
        assert events == ["order.status_changed"]
        assert "Altona" not in orjson.dumps(replay).decode()
        assert message["data"]["complete"] is True
    finally:
        await forget_orders(world, buyer)


async def test_resume_reads_past_events_hidden_from_the_user(
    server: LiveServer, world: World
) -> None:
    """Pages made only of events the user may not see move the resume on, rather than
    answering with nothing and the same marker again."""
    buyer, people, supplier, supplier_owner, product = await order_market(world)
    try:
        await call(
            server,
            world,
            supplier_owner,
            supplier,
            f"/api/v1/companies/{supplier.id}/api-keys",
            {"name": "erp", "scopes": ["orders:read"]},
        )
        [(marker,)] = await world.sql(
            "SELECT id FROM outbox_events WHERE type = 'api_key.created' "
            "AND :id = ANY(company_ids)",
            id=supplier.id,
        )
        orders = [
            await place_for_approval(server, world, people["purchaser"], buyer, product)
            for _ in range(5)
        ]
        await call(
            server,
            world,
            people["owner"],
            buyer,
            f"/api/v1/orders/{orders[-1]['id']}/transitions",
            {"action": "approve"},
            expected=200,
        )
        [(approval,)] = await world.sql(
            "SELECT id FROM outbox_events WHERE type = 'order.status_changed' "
            "AND aggregate_id = :id",
            id=uuid.UUID(orders[-1]["id"]),
        )
        await handled(world, "notifications", approval)
        async with server.platform.database.session_factory() as session:
            resumed = [
                orjson.loads(body)
                for body in await realtime.resume(session, supplier_owner, marker, limit=2)
            ]
        # Three pages of hidden placings are read past; the approval and its
        # notification come in full, and nothing more is left.
        assert [item["type"] for item in resumed] == ["event", "notification", "resumed"]
        assert resumed[0]["data"]["id"] == str(approval)
        assert resumed[1]["data"]["title"] == f"New order {orders[-1]['number']}"
        assert resumed[-1]["data"] == {
            "after": str(marker),
            "count": 2,
            "complete": True,
            "last": str(approval),
        }
    finally:
        await forget_orders(world, buyer)
