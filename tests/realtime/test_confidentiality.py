"""Live updates of an RFQ to three invited suppliers, against a real server: each
supplier's WebSocket messages (live and resumed) name no other supplier, and quotes
never reach another supplier; the buyer sees every supplier and every quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from marketplace.companies.models import Company
from marketplace.identity.models import User
from tests.notifications.conftest import World
from tests.realtime.conftest import LiveServer, next_of, open_socket, quiet_for, receive


async def call(
    server: LiveServer, world: World, user: User, company: Company, path: str, body: Any = None
) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {await world.access_token(user)}",
        "X-Company-ID": str(company.id),
    }
    async with server.http() as http:
        response = await http.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
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
        rfq = await call(server, world, buyer_owner, buyer, f"/api/v1/rfqs/{rfq['id']}/publish")
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
