"""An order sends the statements it needs and no more; an Idempotency-Key adds the
key's claim (with its lookup) and its record, all in the order's own transaction."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.statements import statements_sent
from tests.trade.conftest import Market, order_body

ORDERS = "/api/v1/orders"


async def test_a_key_adds_three_statements_in_the_orders_transaction(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    headers = market.headers["owner"]
    body = order_body((market.bolts, 10))
    # The connection's first order sets it up (type introspection, the year's sequence).
    assert (await client.post(ORDERS, json=body, headers=headers)).status_code == 201
    async with statements_sent(db_session) as plain:
        response = await client.post(ORDERS, json=body, headers=headers)
    assert response.status_code == 201, response.text

    keyed_headers = {**headers, "Idempotency-Key": "statements-1"}
    async with statements_sent(db_session) as keyed:
        response = await client.post(ORDERS, json=body, headers=keyed_headers)
    assert response.status_code == 201, response.text

    # The session with the user's memberships, products (with their supplier's name and
    # the buyer's price lists), number, the order with its lines and event, the stock
    # reservation. The answer reads nothing: the names were known while placing, and a
    # new order has no review.
    assert len(plain) == 5, plain.statements
    assert plain.count("FROM auth_sessions") == 1
    assert plain.count("JOIN memberships") == 1
    assert plain.count("FROM price_list_tiers") == 1
    assert plain.count("SELECT companies.id, companies.name") == 0
    assert plain.count("FROM reviews") == 0
    # The claim looks the key's answer up in the same statement: two more, not three.
    assert len(keyed) == len(plain) + 2, keyed.statements
    assert keyed.count("pg_try_advisory_xact_lock") == 1
    assert keyed.count("JOIN idempotency_records") == 1
    assert keyed.count("INSERT INTO idempotency_records") == 1
    assert keyed.transactions == plain.transactions == 1  # one transaction, not two
    # The record is written last, after the reservation: committed with the order.
    assert "INSERT INTO idempotency_records" in keyed.statements[-1]

    async with statements_sent(db_session) as replayed:
        again = await client.post(ORDERS, json=body, headers=keyed_headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == response.json()
    # The session with the memberships, the claim with its lookup: the stored answer,
    # no order work.
    assert len(replayed) == 2, replayed.statements
