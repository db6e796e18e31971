"""`message.posted` reaches both companies' members over a real WebSocket (uvicorn on
TCP, the in-process outbox relay), with a notification for the other side only."""

from __future__ import annotations

import time
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.messaging.conftest import PDF
from tests.notifications.conftest import World
from tests.realtime.conftest import WAIT_SECONDS, LiveServer, next_of, open_socket, quiet_for
from tests.trade.test_rfqs import future


async def until(ws: ClientConnection, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Read until the `message.posted` event ("event") and/or the "New message"
    notification ("notification") arrived, in whatever order; other messages of the
    setup (the RFQ's events) are skipped."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    while not wanted <= set(found):
        message = await next_of(
            ws, {"event", "notification"}, max(deadline - time.monotonic(), 0.01)
        )
        if message["type"] == "event" and message["data"]["type"] == "message.posted":
            found["event"] = message
        elif message["type"] == "notification" and message["data"]["title"] == "New message":
            found["notification"] = message
    return found


async def test_a_posted_message_arrives_live_on_both_sides_and_nowhere_else(
    server: LiveServer, world: World
) -> None:
    buyer = await world.company(kind="buyer")
    buyer_owner = await world.member(buyer, "owner")
    buyer_viewer = await world.member(buyer, "viewer")
    supplier = await world.company(kind="supplier")
    supplier_sales = await world.member(supplier, "sales")
    rival = await world.company(kind="supplier")
    rival_owner = await world.member(rival, "owner")
    as_buyer = {"Authorization": f"Bearer {await world.access_token(buyer_owner)}"}
    as_supplier = {"Authorization": f"Bearer {await world.access_token(supplier_sales)}"}

    async with server.http() as http:
        created = await http.post(
            "/api/v1/rfqs",
            json={
                "title": "Brackets",
                "items": [{"description": "Brackets B-12", "quantity": "200", "unit": "piece"}],
                "currency": "EUR",
                "delivery_country": "DE",
                "deadline": future(),
                "visibility": "invited",
                "invited_supplier_ids": [str(supplier.id)],
            },
            headers=as_buyer,
        )
        assert created.status_code == 201, created.text
        rfq_id = created.json()["id"]
        published = await http.post(f"/api/v1/rfqs/{rfq_id}/publish", headers=as_buyer)
        assert published.status_code == 200, published.text
        opened = await http.post(
            "/api/v1/threads",
            json={"subject_type": "rfq", "subject_id": rfq_id},
            headers=as_supplier,
        )
        assert opened.status_code == 201, opened.text
        thread = opened.json()

        async with (
            open_socket(
                server.ws_url(f"?access_token={await world.access_token(supplier_sales)}")
            ) as supplier_ws,
            open_socket(
                server.ws_url(f"?access_token={await world.access_token(buyer_viewer)}")
            ) as viewer_ws,
            open_socket(
                server.ws_url(f"?access_token={await world.access_token(rival_owner)}")
            ) as rival_ws,
        ):
            for ws in (supplier_ws, viewer_ws, rival_ws):
                assert (await next_of(ws, {"welcome"}))["type"] == "welcome"
            posted = await http.post(
                f"/api/v1/threads/{thread['id']}/messages",
                data={"body": "Can you do 300 pieces?"},
                files=[("files", ("drawing.pdf", PDF, "application/pdf"))],
                headers=as_buyer,
            )
            assert posted.status_code == 201, posted.text
            message = posted.json()

            arrived = await until(supplier_ws, {"event", "notification"})
            event = arrived["event"]
            payload = event["data"]["payload"]
            assert payload["thread_id"] == thread["id"]
            assert payload["message_id"] == message["id"]
            assert payload["body"] == "Can you do 300 pieces?"
            assert payload["attachments"] == [
                {
                    "id": message["attachments"][0]["id"],
                    "filename": "drawing.pdf",
                    "content_type": "application/pdf",
                    "size": len(PDF),
                }
            ]
            assert "storage_key" not in str(payload)
            notification = arrived["notification"]
            assert notification["data"]["link"] == f"/threads/{thread['id']}"
            assert notification["data"]["event_id"] == event["data"]["id"]

            # The author's colleague sees the event live, without a notification.
            seen_by_viewer = await until(viewer_ws, {"event"})
            assert seen_by_viewer["event"]["data"]["id"] == event["data"]["id"]
            assert "notification" not in seen_by_viewer
            later = await quiet_for(viewer_ws, 1.0)
            assert all(item["type"] != "notification" for item in later)
            # Another supplier hears nothing of it.
            rival_saw = await quiet_for(rival_ws, 0.5)
            assert all(item.get("data", {}).get("type") != "message.posted" for item in rival_saw)

        # The unread count and the supplier's receipt after reading.
        listed = await http.get("/api/v1/threads", headers=as_supplier)
        assert listed.json()["items"][0]["unread_count"] == 1
        read = await http.post(f"/api/v1/threads/{thread['id']}/read", headers=as_supplier)
        assert read.status_code == 200
        seen = await http.get(f"/api/v1/threads/{thread['id']}", headers=as_buyer)
        assert seen.json()["other_side_last_read_at"] == message["created_at"]
