"""Which quote won each RFQ item, as the RFQ's buyer and its suppliers read it, and an
award whose order waits for the buyer's approval: its supplier learns of it (RFQ read,
its own quote, the award's events) only once the order is released to it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.events import view_for
from marketplace.core.outbox import OutboxEvent
from tests.audit.conftest import outbox_mark
from tests.trade.conftest import ADDRESS, Market
from tests.trade.test_rfqs import open_rfq, quote, third  # noqa: F401 (the fixture)


async def read_rfq(client: httpx.AsyncClient, market: Market, rfq_id: str, who: str) -> Any:
    response = await client.get(f"/api/v1/rfqs/{rfq_id}", headers=market.headers[who])
    assert response.status_code == 200, response.text
    return response.json()


def awards(rfq: dict[str, Any]) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (item["awarded_quote_id"], item["awarded_supplier_id"], item["awarded_supplier_name"])
        for item in rfq["items"]
    ]


async def award(
    client: httpx.AsyncClient, market: Market, rfq: dict[str, Any], quotes: list[str], who: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/rfqs/{rfq['id']}/award",
        json={
            "lines": [
                {"rfq_item_id": item["id"], "quote_id": quote_id}
                for item, quote_id in zip(rfq["items"], quotes, strict=True)
            ],
            "shipping_address": ADDRESS,
        },
        headers=market.headers[who],
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.usefixtures("third")
async def test_each_item_names_its_winning_quote_to_the_buyer_and_to_its_winner_only(
    client: httpx.AsyncClient, market: Market
) -> None:
    rfq = await open_rfq(client, market)
    q_supplier = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    q_other = await quote(client, market, rfq, "other_supplier", ["0.3300", "3.10"])
    await quote(client, market, rfq, "third", ["0.3100", "3.50"])
    assert awards(await read_rfq(client, market, rfq["id"], "owner")) == [(None,) * 3] * 2

    result = await award(client, market, rfq, [q_supplier["id"], q_other["id"]], "owner")

    supplier, other = str(market.supplier.id), str(market.other_supplier.id)
    won = [
        (q_supplier["id"], supplier, market.supplier.name),
        (q_other["id"], other, market.other_supplier.name),
    ]
    assert awards(result["rfq"]) == won
    assert awards(await read_rfq(client, market, rfq["id"], "owner")) == won
    listed = await client.get("/api/v1/rfqs?role=buyer", headers=market.headers["owner"])
    assert [awards(r) for r in listed.json()["items"] if r["id"] == rfq["id"]] == [won]
    # Each winner sees its own item won and nothing of the other's; the loser nothing.
    assert awards(await read_rfq(client, market, rfq["id"], "supplier")) == [won[0], (None,) * 3]
    assert awards(await read_rfq(client, market, rfq["id"], "other_supplier")) == [
        (None,) * 3,
        won[1],
    ]
    assert awards(await read_rfq(client, market, rfq["id"], "third")) == [(None,) * 3] * 2
    listed = await client.get("/api/v1/rfqs?role=supplier", headers=market.headers["supplier"])
    assert [awards(r) for r in listed.json()["items"] if r["id"] == rfq["id"]] == [
        [won[0], (None,) * 3]
    ]


async def supplier_views(
    session: AsyncSession, after: int, supplier_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """What the supplier's members are shown of the events after `after` (the one gate
    every recipient of events goes through), by type."""
    rows = (
        await session.execute(
            select(OutboxEvent).where(OutboxEvent.seq > after).order_by(OutboxEvent.seq)
        )
    ).scalars()
    shown: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        view = view_for(row.type, row.payload, row.company_ids, [supplier_id])
        if view.is_visible:
            shown.setdefault(row.type, []).append(view.payload)
    return shown


async def test_an_award_waiting_for_approval_reaches_its_supplier_only_once_released(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    policy = await client.put(
        f"/api/v1/companies/{market.buyer.id}/purchasing-policy",
        json={"approval_threshold": "10.00"},
        headers=market.headers["owner"],
    )
    assert policy.status_code == 200, policy.text
    rfq = await open_rfq(client, market)
    q_supplier = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    mark = await outbox_mark(db_session)

    # A purchaser over the company's threshold: the order waits for the owner.
    result = await award(client, market, rfq, [q_supplier["id"]] * 2, "purchaser")
    (order_id,) = result["order_ids"]
    order = await client.get(f"/api/v1/orders/{order_id}", headers=market.headers["owner"])
    assert order.json()["status"] == "pending_approval"
    won = (q_supplier["id"], str(market.supplier.id), market.supplier.name)
    assert awards(await read_rfq(client, market, rfq["id"], "owner")) == [won, won]

    # The supplier is told nothing of the award yet: not in the RFQ, not in its quote's
    # status, not in any event.
    assert awards(await read_rfq(client, market, rfq["id"], "supplier")) == [(None,) * 3] * 2
    own = await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=market.headers["supplier"])
    assert [q["status"] for q in own.json()] == ["submitted"]
    held = await supplier_views(db_session, mark, market.supplier.id)
    assert "rfq.awarded" not in held
    assert "rfq.award_released" not in held
    assert "order.placed" not in held
    # The buyer's view of the same event names the award, marked as held back.
    buyer_view = [
        view_for(row.type, row.payload, row.company_ids, [market.buyer.id]).payload
        for row in (
            await db_session.execute(
                select(OutboxEvent).where(OutboxEvent.seq > mark, OutboxEvent.type == "rfq.awarded")
            )
        ).scalars()
    ]
    assert [view["awards"] for view in buyer_view] == [
        [{"supplier_id": str(market.supplier.id), "order_id": order_id, "released": False}]
    ]

    mark = await outbox_mark(db_session)
    approved = await client.post(
        f"/api/v1/orders/{order_id}/transitions",
        json={"action": "approve", "reason": "budget ok"},
        headers=market.headers["owner"],
    )
    assert approved.status_code == 200, approved.text

    assert awards(await read_rfq(client, market, rfq["id"], "supplier")) == [won, won]
    own = await client.get(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=market.headers["supplier"])
    assert [q["status"] for q in own.json()] == ["accepted"]
    released = await supplier_views(db_session, mark, market.supplier.id)
    assert [view["awards"] for view in released["rfq.award_released"]] == [
        [{"supplier_id": str(market.supplier.id), "order_id": order_id, "released": True}]
    ]
    assert released["rfq.award_released"][0]["rfq_id"] == rfq["id"]
    assert [view["to_status"] for view in released["order.status_changed"]] == ["placed"]


async def test_a_declined_award_never_reaches_its_supplier(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await client.put(
        f"/api/v1/companies/{market.buyer.id}/purchasing-policy",
        json={"approval_threshold": "10.00"},
        headers=market.headers["owner"],
    )
    rfq = await open_rfq(client, market)
    q_supplier = await quote(client, market, rfq, "supplier", ["0.3000", "4.00"])
    mark = await outbox_mark(db_session)
    (order_id,) = (await award(client, market, rfq, [q_supplier["id"]] * 2, "purchaser"))[
        "order_ids"
    ]
    declined = await client.post(
        f"/api/v1/orders/{order_id}/transitions",
        json={"action": "decline", "reason": "over budget"},
        headers=market.headers["owner"],
    )
    assert declined.status_code == 200, declined.text
    assert await supplier_views(db_session, mark, market.supplier.id) == {}
    assert awards(await read_rfq(client, market, rfq["id"], "supplier")) == [(None,) * 3] * 2
