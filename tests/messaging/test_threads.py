"""Threads and messages through the API: opening (or finding) the conversation about
an order, an RFQ or a quote, posting, paging, read receipts, the event."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.events import EventEnvelope
from marketplace.core.outbox import OutboxEvent
from marketplace.notifications.rules import RULES
from marketplace.notifications.service import directory_for, recipients
from tests.factories import add_member, make_user
from tests.messaging.conftest import Deals, counts
from tests.trade.test_rfqs import future


async def open_thread(
    client: httpx.AsyncClient, headers: dict[str, str], expected: int = 201, **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/threads", json=body, headers=headers)
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


async def order_thread(client: httpx.AsyncClient, deals: Deals) -> dict[str, Any]:
    return await open_thread(
        client, deals.headers("purchaser"), subject_type="order", subject_id=deals.order["id"]
    )


async def post(
    client: httpx.AsyncClient, thread: dict[str, Any], headers: dict[str, str], text: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/threads/{thread['id']}/messages", json={"body": text}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# --- opening threads -------------------------------------------------------------------


async def test_an_order_thread_is_created_once_and_found_by_both_sides(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    market = deals.market
    thread = await order_thread(client, deals)
    assert thread["subject_type"] == "order"
    assert thread["subject_id"] == deals.order["id"]
    assert thread["buyer_id"] == str(market.buyer.id)
    assert thread["supplier_id"] == str(market.supplier.id)
    assert thread["last_message_at"] is None
    assert thread["last_activity_at"] == thread["created_at"]
    assert thread["unread_count"] == 0
    again = await open_thread(
        client,
        deals.headers("sales"),
        expected=200,
        subject_type="order",
        subject_id=deals.order["id"],
    )
    assert again["id"] == thread["id"]
    supplier_side = await open_thread(
        client,
        deals.headers("supplier"),
        expected=200,
        subject_type="order",
        subject_id=deals.order["id"],
        supplier_id=str(market.supplier.id),
    )
    assert supplier_side["id"] == thread["id"]


async def test_an_rfq_thread_is_with_the_supplier_the_buyer_names_or_that_opens_it(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession
) -> None:
    market = deals.market
    by_supplier = await open_thread(
        client, deals.headers("supplier"), subject_type="rfq", subject_id=deals.rfq["id"]
    )
    assert (by_supplier["buyer_id"], by_supplier["supplier_id"]) == (
        str(market.buyer.id),
        str(market.supplier.id),
    )
    by_buyer = await open_thread(
        client,
        deals.headers("purchaser"),
        expected=200,
        subject_type="rfq",
        subject_id=deals.rfq["id"],
        supplier_id=str(market.supplier.id),
    )
    assert by_buyer["id"] == by_supplier["id"]
    before = await counts(db_session)
    # The buyer must name the supplier, and one it deals with on this RFQ.
    for supplier in (None, str(market.other_supplier.id), str(uuid.uuid4())):
        body = {"subject_type": "rfq", "subject_id": deals.rfq["id"], "supplier_id": supplier}
        response = await client.post(
            "/api/v1/threads", json=body, headers=deals.headers("purchaser")
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"] == "urn:marketplace:problem:invalid-counterpart"
        assert problem["errors"][0]["loc"] == ["body", "supplier_id"]
    # A supplier cannot open a thread on someone else's behalf.
    response = await client.post(
        "/api/v1/threads",
        json={
            "subject_type": "rfq",
            "subject_id": deals.rfq["id"],
            "supplier_id": str(market.other_supplier.id),
        },
        headers=deals.headers("supplier"),
    )
    assert response.status_code == 422
    assert await counts(db_session) == before


async def test_a_quote_thread_joins_the_buyer_and_the_quoting_supplier(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession
) -> None:
    quoted = await client.post(
        f"/api/v1/rfqs/{deals.rfq['id']}/quotes",
        json={
            "items": [{"rfq_item_id": deals.rfq["items"][0]["id"], "unit_price": "2.50"}],
            "valid_until": future(14),
            "lead_time_days": 5,
            "payment_terms": "net_30",
        },
        headers=deals.headers("supplier"),
    )
    assert quoted.status_code == 201, quoted.text
    quote_id = quoted.json()["id"]
    thread = await open_thread(
        client, deals.headers("owner"), subject_type="quote", subject_id=quote_id
    )
    assert thread["supplier_id"] == str(deals.market.supplier.id)
    before = await counts(db_session)
    response = await client.post(
        "/api/v1/threads",
        json={"subject_type": "quote", "subject_id": quote_id},
        headers=deals.headers("other_supplier"),
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "The quote does not exist."
    assert await counts(db_session) == before


async def test_an_unknown_or_invisible_subject_is_a_precise_404_and_writes_nothing(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession
) -> None:
    before = await counts(db_session)
    cases = [
        ("purchaser", "order", str(uuid.uuid4()), "The order does not exist."),
        ("other_supplier", "order", deals.order["id"], "The order does not exist."),
        ("purchaser", "rfq", str(uuid.uuid4()), "The request for quotation does not exist."),
        # Invited-only: the other supplier cannot see the RFQ.
        ("other_supplier", "rfq", deals.rfq["id"], "The request for quotation does not exist."),
        ("purchaser", "quote", str(uuid.uuid4()), "The quote does not exist."),
    ]
    for who, subject_type, subject_id, detail in cases:
        response = await client.post(
            "/api/v1/threads",
            json={"subject_type": subject_type, "subject_id": subject_id},
            headers=deals.headers(who),
        )
        assert response.status_code == 404, (who, subject_type, response.text)
        assert response.json()["detail"] == detail
    for body in (
        {"subject_type": "invoice", "subject_id": deals.order["id"]},
        {"subject_type": "order", "subject_id": "not-a-uuid"},
        {"subject_type": "order"},
        {"subject_type": "order", "subject_id": deals.order["id"], "extra": 1},
    ):
        response = await client.post(
            "/api/v1/threads", json=body, headers=deals.headers("purchaser")
        )
        assert response.status_code == 422, body
        assert response.json()["type"] == "urn:marketplace:problem:validation-failed"
    assert await counts(db_session) == before


async def test_a_draft_rfq_has_no_thread(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession
) -> None:
    draft = await client.post(
        "/api/v1/rfqs",
        json={
            "title": "Draft",
            "items": [{"description": "Thing", "quantity": "1", "unit": "piece"}],
            "currency": "EUR",
            "delivery_country": "DE",
            "deadline": future(),
            "visibility": "invited",
            "invited_supplier_ids": [str(deals.market.supplier.id)],
        },
        headers=deals.headers("purchaser"),
    )
    assert draft.status_code == 201
    before = await counts(db_session)
    response = await client.post(
        "/api/v1/threads",
        json={
            "subject_type": "rfq",
            "subject_id": draft.json()["id"],
            "supplier_id": str(deals.market.supplier.id),
        },
        headers=deals.headers("purchaser"),
    )
    assert response.status_code == 409
    assert response.json()["type"] == "urn:marketplace:problem:subject-not-open"
    supplier_view = await client.post(
        "/api/v1/threads",
        json={"subject_type": "rfq", "subject_id": draft.json()["id"]},
        headers=deals.headers("supplier"),
    )
    assert supplier_view.status_code == 404
    assert await counts(db_session) == before


# --- messages, paging, receipts --------------------------------------------------------


async def test_messages_page_newest_first_with_a_cursor(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    thread = await order_thread(client, deals)
    sent = [
        await post(client, thread, deals.headers("purchaser" if i % 2 else "supplier"), f"m{i}")
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(
            f"/api/v1/threads/{thread['id']}/messages",
            params=params,
            headers=deals.headers("viewer"),
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["body"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    assert pages == 3
    assert sent[1]["author_company_id"] == str(deals.market.buyer.id)
    assert sent[0]["author_company_id"] == str(deals.market.supplier.id)
    bad = await client.get(
        f"/api/v1/threads/{thread['id']}/messages",
        params={"cursor": "garbage"},
        headers=deals.headers("viewer"),
    )
    assert bad.status_code == 400
    assert bad.json()["type"] == "urn:marketplace:problem:invalid-cursor"


async def test_thread_list_is_newest_activity_first_with_unread_counts(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    order = await order_thread(client, deals)
    rfq = await open_thread(
        client, deals.headers("supplier"), subject_type="rfq", subject_id=deals.rfq["id"]
    )
    await post(client, order, deals.headers("supplier"), "Shipping Monday")
    await post(client, order, deals.headers("supplier"), "Tracking follows")
    listed = await client.get("/api/v1/threads", headers=deals.headers("purchaser"))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [item["id"] for item in items] == [order["id"], rfq["id"]]
    assert [item["unread_count"] for item in items] == [2, 0]
    # Newer activity on the RFQ thread moves it to the top.
    await post(client, rfq, deals.headers("purchaser"), "Can you do 300?")
    listed = (await client.get("/api/v1/threads", headers=deals.headers("purchaser"))).json()
    assert [item["id"] for item in listed["items"]] == [rfq["id"], order["id"]]
    # The author's own message is not unread for them; their colleague has it unread.
    assert listed["items"][0]["unread_count"] == 0
    colleague = (await client.get("/api/v1/threads", headers=deals.headers("owner"))).json()
    assert [item["unread_count"] for item in colleague["items"]] == [1, 2]
    # Paging through the list with a cursor.
    first = (await client.get("/api/v1/threads?limit=1", headers=deals.headers("purchaser"))).json()
    assert [item["id"] for item in first["items"]] == [rfq["id"]]
    second = (
        await client.get(
            f"/api/v1/threads?limit=1&cursor={first['next_cursor']}",
            headers=deals.headers("purchaser"),
        )
    ).json()
    assert [item["id"] for item in second["items"]] == [order["id"]]
    assert second["next_cursor"] is None
    # The other supplier has no threads at all.
    other = (await client.get("/api/v1/threads", headers=deals.headers("other_supplier"))).json()
    assert other == {"items": [], "next_cursor": None}


async def test_read_receipts_show_the_other_sides_read_state(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    thread = await order_thread(client, deals)
    message = await post(client, thread, deals.headers("purchaser"), "Please confirm")
    url = f"/api/v1/threads/{thread['id']}"
    buyer_view = (await client.get(url, headers=deals.headers("purchaser"))).json()
    assert buyer_view["other_side_last_read_at"] is None
    assert buyer_view["my_last_read_at"] == message["created_at"]  # posting reads
    supplier_view = (await client.get(url, headers=deals.headers("supplier"))).json()
    assert supplier_view["unread_count"] == 1
    assert supplier_view["other_side_last_read_at"] == message["created_at"]

    receipt = await client.post(url + "/read", headers=deals.headers("supplier"))
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["last_read_at"] == message["created_at"]
    supplier_view = (await client.get(url, headers=deals.headers("supplier"))).json()
    assert supplier_view["unread_count"] == 0
    buyer_view = (await client.get(url, headers=deals.headers("purchaser"))).json()
    assert buyer_view["other_side_last_read_at"] == message["created_at"]
    # A viewer may mark what they read; it counts as the buyer side having read.
    viewer = await client.post(url + "/read", headers=deals.headers("viewer"))
    assert viewer.status_code == 200


async def test_posting_emits_message_posted_for_both_companies_and_notifies_the_other_side(
    app: FastAPI, client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession
) -> None:
    market = deals.market
    thread = await order_thread(client, deals)
    message = await post(client, thread, deals.headers("purchaser"), "Hello <b>there</b>")
    assert message["body"] == "Hello <b>there</b>"  # stored as text, escaped by clients
    row = (
        await db_session.execute(
            select(OutboxEvent).where(
                OutboxEvent.type == "message.posted", OutboxEvent.aggregate_id == thread["id"]
            )
        )
    ).scalar_one()
    assert sorted(row.company_ids, key=str) == sorted(
        [market.buyer.id, market.supplier.id], key=str
    )
    assert row.payload["message_id"] == message["id"]
    assert row.payload["author_company_id"] == str(market.buyer.id)
    assert row.payload["body"] == "Hello <b>there</b>"
    assert row.actor_user_id == uuid.UUID(message["author_user_id"])

    # Notifications: the supplier's traders, never the author's colleagues.
    sales = await make_user(db_session, name="Supplier sales")
    viewer = await make_user(db_session, name="Supplier viewer")
    await add_member(db_session, market.supplier, sales, "sales")
    await add_member(db_session, market.supplier, viewer, "viewer")
    event = EventEnvelope.from_row(row)
    directory = await directory_for(db_session, event.company_ids)
    told = recipients(directory, RULES["message.posted"], event)
    companies = {person.company_id for person in told}
    names = sorted(person.user.name for person in told)
    assert companies == {market.supplier.id}
    assert names == ["Supplier sales", "supplier sales"]
