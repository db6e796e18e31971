"""Reviews after completed orders, and the trust signals on a supplier's public profile:
average rating, on-time delivery rate, median RFQ response time."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.companies.permissions import Scope
from marketplace.consumers import build_registry
from marketplace.core.cache import RedisCache
from marketplace.core.events import EventEnvelope
from marketplace.core.outbox import OutboxEvent
from marketplace.core.redis import create_redis
from marketplace.trade.models import Order, Quote, Review, Rfq
from marketplace.trade.reviews.consumers import TRUST_CACHE
from marketplace.trade.reviews.service import trust_key
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_company,
    make_user,
    platform_of,
)
from tests.trade.conftest import Market, order_body
from tests.trade.test_concurrency_and_idempotency import scalar
from tests.trade.test_rfqs import open_rfq, quote

FULFIL = (("confirm", "supplier"), ("ship", "supplier"), ("deliver", "supplier"))


async def move(
    client: httpx.AsyncClient, market: Market, order_id: str, action: str, who: str
) -> None:
    body: dict[str, str] = {"action": action}
    if action == "ship":
        body |= {"carrier": "DHL", "tracking_number": "JD0001"}
    response = await client.post(
        f"/api/v1/orders/{order_id}/transitions", json=body, headers=market.headers[who]
    )
    assert response.status_code == 200, response.text


async def order_until(
    client: httpx.AsyncClient,
    market: Market,
    status: str,
    *,
    promised_days_ago: int | None = None,
    session: AsyncSession | None = None,
) -> str:
    """An order of the buyer with the supplier, moved through the API up to `status`.
    `promised_days_ago` backdates the promised delivery date before the delivery, so
    that the delivery is late."""
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.washers, 1)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    steps = [*FULFIL, ("complete", "owner")]
    wanted = {"placed": 0, "shipped": 2, "delivered": 3, "completed": 4}[status]
    for action, who in steps[:wanted]:
        if action == "deliver" and promised_days_ago is not None:
            assert session is not None
            await session.execute(
                update(Order)
                .where(Order.id == uuid.UUID(order_id))
                .values(promised_by=datetime.now(UTC).date() - timedelta(days=promised_days_ago))
            )
        await move(client, market, order_id, action, who)
    return order_id


async def review(
    client: httpx.AsyncClient,
    market: Market,
    order_id: str,
    body: dict[str, Any],
    who: str = "owner",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order_id}/review",
        json=body,
        headers=market.headers[who] if who != "anonymous" else {},
    )


async def review_count(session: AsyncSession, market: Market) -> int:
    """The supplier's reviews, checked against the events announcing them (one each).
    Scoped to this test's supplier: live tests commit theirs into the same database."""
    reviews = await session.scalar(
        select(func.count()).where(Review.supplier_id == market.supplier.id)
    )
    events = await session.scalar(
        select(func.count()).where(
            OutboxEvent.type == "review.created",
            OutboxEvent.payload["supplier_id"].astext == str(market.supplier.id),
        )
    )
    assert events == reviews
    return int(reviews or 0)


def reviews_of(market: Market) -> Select[tuple[Review]]:
    return select(Review).where(Review.supplier_id == market.supplier.id)


async def trust_of(client: httpx.AsyncClient, company_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"/api/v1/companies/{company_id}")
    assert response.status_code == 200, response.text
    trust: dict[str, Any] = response.json()["trust"]
    return trust


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:marketplace:problem:{code}"


# -- reviews -------------------------------------------------------------------------


async def test_buyer_reviews_a_completed_order_once_and_anyone_reads_it(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order_id = await order_until(client, market, "completed")
    events_before = await db_session.scalar(text("SELECT coalesce(max(seq), 0) FROM outbox_events"))

    created = await review(
        client, market, order_id, {"rating": 4, "comment": "  Fast, well packed.\nThanks!  "}
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["order_id"] == order_id
    assert body["buyer_id"] == str(market.buyer.id)
    assert body["supplier_id"] == str(market.supplier.id)
    assert body["rating"] == 4
    assert body["comment"] == "Fast, well packed.\nThanks!"
    assert body["buyer_country"] == "DE"
    stored = (await db_session.execute(reviews_of(market))).scalar_one()
    assert (stored.rating, stored.author_user_id is not None) == (4, True)
    events = (
        await db_session.execute(
            text(
                "SELECT type, payload, company_ids FROM outbox_events WHERE seq > :after "
                "ORDER BY seq"
            ),
            {"after": events_before},
        )
    ).all()
    assert [(row.type, row.payload["rating"], row.payload["order_id"]) for row in events] == [
        ("review.created", 4, order_id)
    ]
    assert set(events[0].company_ids) == {market.buyer.id, market.supplier.id}

    public = await client.get(f"/api/v1/companies/{market.supplier.id}/reviews")
    assert public.status_code == 200
    assert public.json() == {
        "items": [
            {
                "id": body["id"],
                "supplier_id": str(market.supplier.id),
                "rating": 4,
                "comment": "Fast, well packed.\nThanks!",
                "buyer_country": "DE",
                "created_at": body["created_at"],
            }
        ],
        "next_cursor": None,
    }

    again = await review(client, market, order_id, {"rating": 1}, who="admin")
    assert_problem(again, 409, "already-reviewed")
    assert await review_count(db_session, market) == 1
    assert (await db_session.execute(reviews_of(market))).scalar_one().rating == 4


@pytest.mark.parametrize("status", ["placed", "shipped", "delivered"])
async def test_an_order_not_completed_cannot_be_reviewed(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession, status: str
) -> None:
    order_id = await order_until(client, market, status)
    response = await review(client, market, order_id, {"rating": 5})
    assert_problem(response, 409, "order-not-completed")
    assert await review_count(db_session, market) == 0


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "invalid-credentials"),
        ("viewer", 403, "role-not-allowed"),  # read-only member of the buyer
        ("sales", 403, "role-not-allowed"),  # the buyer's sales member: no buying rights
        ("supplier", 403, "not-the-buyer"),  # the supplier's owner may buy, but sold this
        ("other_supplier", 404, "not-found"),  # not a party: the order does not exist
    ],
)
async def test_only_the_buyer_may_review(
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    status: int,
    code: str,
) -> None:
    order_id = await order_until(client, market, "completed")
    response = await review(client, market, order_id, {"rating": 1, "comment": "x"}, who=who)
    assert_problem(response, status, code)
    assert await review_count(db_session, market) == 0


@pytest.mark.parametrize("who", ["purchaser", "admin"])
async def test_purchasers_and_admins_of_the_buyer_may_review(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession, who: str
) -> None:
    order_id = await order_until(client, market, "completed")
    response = await review(client, market, order_id, {"rating": 3}, who=who)
    assert response.status_code == 201, response.text
    assert await review_count(db_session, market) == 1


@pytest.mark.parametrize(
    ("scopes", "status"), [([Scope.ORDERS_WRITE], 201), ([Scope.ORDERS_READ], 403)]
)
async def test_an_api_key_reviews_with_the_right_to_complete_orders(
    app: FastAPI,
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    scopes: list[Scope],
    status: int,
) -> None:
    order_id = await order_until(client, market, "completed")
    _key, headers = await make_api_key(app, db_session, market.buyer, scopes)
    response = await client.post(
        f"/api/v1/orders/{order_id}/review", json={"rating": 5}, headers=headers
    )
    assert response.status_code == status, response.text
    assert await review_count(db_session, market) == (1 if status == 201 else 0)
    if status == 201:
        stored = (await db_session.execute(reviews_of(market))).scalar_one()
        assert stored.author_user_id is None


async def test_an_unknown_order_is_404(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    response = await review(client, market, str(uuid.uuid4()), {"rating": 5})
    assert_problem(response, 404, "not-found")
    assert await review_count(db_session, market) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": -1}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": None}, "rating"),
        ({"comment": "good"}, "rating"),
        ({"rating": 5, "comment": "x" * 2001}, "comment"),
        ({"rating": 5, "comment": "bad\x00byte"}, "comment"),
        ({"rating": 5, "comment": 42}, "comment"),
        ({"rating": 5, "author_user_id": str(uuid.uuid4())}, "author_user_id"),
    ],
)
async def test_bad_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    body: dict[str, Any],
    field: str,
) -> None:
    order_id = await order_until(client, market, "completed")
    response = await review(client, market, order_id, body)
    assert_problem(response, 422, "validation-failed")
    assert [error["loc"][-1] for error in response.json()["errors"]] == [field]
    assert await review_count(db_session, market) == 0


async def test_a_comment_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, market: Market
) -> None:
    order_id = await order_until(client, market, "completed")
    response = await review(client, market, order_id, {"rating": 5, "comment": "x" * 2000})
    assert response.status_code == 201, response.text
    assert len(response.json()["comment"]) == 2000


async def test_the_review_list_pages_with_a_cursor(
    client: httpx.AsyncClient, market: Market
) -> None:
    created = []
    for rating in (5, 4, 3):
        order_id = await order_until(client, market, "completed")
        response = await review(client, market, order_id, {"rating": rating})
        created.append(response.json()["id"])
    url = f"/api/v1/companies/{market.supplier.id}/reviews"
    first = (await client.get(url, params={"limit": 2})).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"] is not None
    second = (await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted(created)
    assert len(set(seen)) == 3

    bad_cursor = await client.get(url, params={"cursor": "not-a-cursor"})
    assert_problem(bad_cursor, 400, "invalid-cursor")
    unknown = await client.get(f"/api/v1/companies/{uuid.uuid4()}/reviews")
    assert_problem(unknown, 404, "not-found")
    none_yet = await client.get(f"/api/v1/companies/{market.other_supplier.id}/reviews")
    assert none_yet.json() == {"items": [], "next_cursor": None}


# -- trust signals -------------------------------------------------------------------


async def test_a_supplier_without_history_shows_no_figures_and_a_buyer_no_trust(
    client: httpx.AsyncClient, market: Market
) -> None:
    assert await trust_of(client, market.other_supplier.id) == {
        "rating_average": None,
        "review_count": 0,
        "on_time_delivery_rate": None,
        "delivered_order_count": 0,
        "rfq_response_median_seconds": None,
        "rfq_response_count": 0,
        "message_response_median_seconds": None,
        "message_response_count": 0,
    }
    buyer = await client.get(f"/api/v1/companies/{market.buyer.id}")
    assert buyer.json()["trust"] is None


async def test_the_profile_shows_the_average_rating(
    client: httpx.AsyncClient, market: Market
) -> None:
    for rating in (5, 4, 4):
        order_id = await order_until(client, market, "completed")
        assert (await review(client, market, order_id, {"rating": rating})).status_code == 201
    trust = await trust_of(client, market.supplier.id)
    assert trust["rating_average"] == 4.33
    assert trust["review_count"] == 3
    # Members see the same signals with their private profile.
    member_view = await client.get(
        f"/api/v1/companies/{market.supplier.id}", headers=market.headers["supplier"]
    )
    assert "tax_id" in member_view.json()
    assert member_view.json()["trust"]["rating_average"] == 4.33
    # Another supplier's reviews are its own.
    assert (await trust_of(client, market.other_supplier.id))["review_count"] == 0


async def test_the_on_time_rate_counts_delivered_orders_only(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await order_until(client, market, "completed")  # on time
    await order_until(client, market, "delivered", promised_days_ago=2, session=db_session)
    await order_until(client, market, "shipped")  # not delivered yet: not counted
    await order_until(client, market, "placed")

    trust = await trust_of(client, market.supplier.id)

    assert trust["on_time_delivery_rate"] == 0.5
    assert trust["delivered_order_count"] == 2
    assert trust["rating_average"] is None
    assert trust["review_count"] == 0


async def test_an_order_delivered_on_its_promised_day_is_on_time(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    await order_until(client, market, "delivered", promised_days_ago=0, session=db_session)
    await order_until(client, market, "completed", promised_days_ago=1, session=db_session)
    await order_until(client, market, "completed", promised_days_ago=1, session=db_session)
    trust = await trust_of(client, market.supplier.id)
    assert trust["on_time_delivery_rate"] == 0.3333
    assert trust["delivered_order_count"] == 3


async def test_the_median_rfq_response_time_uses_each_first_quote(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    rfqs = [await open_rfq(client, market) for _ in range(4)]
    for rfq in rfqs[:3]:
        await quote(client, market, rfq, "supplier", ["0.30", "2.00"])
    # A revision later on does not make the first answer slower.
    await quote(client, market, rfqs[0], "supplier", ["0.29", "1.90"])
    # The fourth RFQ is never answered: it is not part of the median.
    # Backdate the publications: answers after 1 minute, 10 minutes and 2 hours.
    for rfq, seconds in zip(rfqs[:3], (60, 600, 7200), strict=True):
        created_at = await db_session.scalar(
            select(Quote.created_at).where(Quote.rfq_id == uuid.UUID(rfq["id"]))
        )
        assert created_at is not None
        await db_session.execute(
            update(Rfq)
            .where(Rfq.id == uuid.UUID(rfq["id"]))
            .values(published_at=created_at - timedelta(seconds=seconds))
        )
    await db_session.execute(
        update(Rfq)
        .where(Rfq.id == uuid.UUID(rfqs[3]["id"]))
        .values(published_at=datetime.now(UTC) - timedelta(days=3))
    )
    # Another supplier's quote on the same RFQ is its own figure, not this one's.
    await quote(client, market, rfqs[1], "other_supplier", ["0.31", "2.10"])

    trust = await trust_of(client, market.supplier.id)

    assert trust["rfq_response_median_seconds"] == 600
    assert trust["rfq_response_count"] == 3
    other = await trust_of(client, market.other_supplier.id)
    assert other["rfq_response_count"] == 1


async def test_a_company_that_buys_and_sells_gets_trust_signals(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    company = await make_company(db_session, name="Both Ways", kind="both")
    user = await make_user(db_session)
    await add_member(db_session, company, user, "owner")
    headers = await bearer_headers(app, db_session, user, company)
    response = await client.get(f"/api/v1/companies/{company.id}", headers=headers)
    assert response.json()["trust"]["review_count"] == 0


# -- the cached trust signals ------------------------------------------------------------


async def cached_trust(app: FastAPI, supplier_id: uuid.UUID) -> dict[str, Any] | None:
    raw = await platform_of(app).cache.get(trust_key(supplier_id))
    return None if raw is None else dict(json.loads(raw))


async def deliver_events(
    app: FastAPI, session: AsyncSession, after: int
) -> list[tuple[str, dict[str, Any]]]:
    """Hand the outbox events written after `after` to the trust-cache consumer, as the
    relay does after commit."""
    rows = (
        (
            await session.execute(
                select(OutboxEvent).where(OutboxEvent.seq > after).order_by(OutboxEvent.seq)
            )
        )
        .scalars()
        .all()
    )
    platform = platform_of(app)
    handled = []
    for row in rows:
        envelope = EventEnvelope.from_row(row)
        if TRUST_CACHE.wants(envelope.type):
            # The consumer's own transaction, as handle_once gives it (without the inbox
            # row, which would outlive the test's rolled-back transaction).
            async with platform.database.session_factory() as consumer_session:
                await TRUST_CACHE.handler(consumer_session, platform, envelope)
                await consumer_session.commit()
            handled.append((envelope.type, envelope.payload))
    await caching.drain()
    return handled


async def outbox_position(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.seq), 0))) or 0)


async def test_a_new_review_shows_at_once_on_the_cached_profile(
    app: FastAPI, client: httpx.AsyncClient, market: Market
) -> None:
    order_id = await order_until(client, market, "completed")
    assert (await trust_of(client, market.supplier.id))["review_count"] == 0
    assert (await cached_trust(app, market.supplier.id)) == {
        "rating_average": None,
        "review_count": 0,
        "on_time_delivery_rate": 1.0,
        "delivered_order_count": 1,
        "rfq_response_median_seconds": None,
        "rfq_response_count": 0,
        "message_response_median_seconds": None,
        "message_response_count": 0,
    }
    assert (await review(client, market, order_id, {"rating": 2})).status_code == 201
    assert await cached_trust(app, market.supplier.id) is None
    trust = await trust_of(client, market.supplier.id)
    assert (trust["rating_average"], trust["review_count"]) == (2.0, 1)


async def test_deliveries_and_first_quotes_refresh_the_cached_trust_through_the_consumer(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    assert build_registry().get("trust-cache") is TRUST_CACHE
    assert not TRUST_CACHE.wants("order.placed")
    order_id = await order_until(client, market, "shipped")
    rfq = await open_rfq(client, market)
    await trust_of(client, market.supplier.id)  # cached: nothing delivered, no quote

    # Events that change no figure leave the entry alone.
    before = await outbox_position(db_session)
    await order_until(client, market, "shipped")
    handled = await deliver_events(app, db_session, before)
    assert [kind for kind, _payload in handled] == ["order.status_changed"] * 2
    assert await cached_trust(app, market.supplier.id) is not None

    before = await outbox_position(db_session)
    await move(client, market, order_id, "deliver", "supplier")
    await quote(client, market, rfq, "supplier", ["0.30", "2.00"])
    # Until the consumer runs, readers see the cached figures (bounded by the TTL).
    stale = await trust_of(client, market.supplier.id)
    assert (stale["delivered_order_count"], stale["rfq_response_count"]) == (0, 0)
    handled = await deliver_events(app, db_session, before)
    assert [kind for kind, _payload in handled] == ["order.status_changed", "quote.submitted"]
    assert await cached_trust(app, market.supplier.id) is None
    fresh = await trust_of(client, market.supplier.id)
    assert (fresh["delivered_order_count"], fresh["on_time_delivery_rate"]) == (1, 1.0)
    assert fresh["rfq_response_count"] == 1
    assert fresh["rfq_response_median_seconds"] is not None

    # A revision keeps the first answer's time: the entry stays.
    before = await outbox_position(db_session)
    await quote(client, market, rfq, "supplier", ["0.29", "1.90"])
    assert [kind for kind, _ in await deliver_events(app, db_session, before)] == [
        "quote.submitted"
    ]
    assert await cached_trust(app, market.supplier.id) is not None


async def test_reviews_and_profiles_work_while_the_cache_is_down(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order_id = await order_until(client, market, "completed")
    platform = platform_of(app)
    working = platform.cache
    platform.cache = RedisCache(create_redis("redis://127.0.0.1:1/0"))  # nothing listens
    try:
        created = await review(client, market, order_id, {"rating": 5})
        assert created.status_code == 201, created.text
        trust = await trust_of(client, market.supplier.id)
        assert (trust["rating_average"], trust["delivered_order_count"]) == (5.0, 1)
    finally:
        await platform.cache.close()
        platform.cache = working
    assert await review_count(db_session, market) == 1


# -- concurrency ---------------------------------------------------------------------


async def test_concurrent_reviews_of_one_order_make_one(
    live_client: httpx.AsyncClient, live_market: Market, database_url: str
) -> None:
    order_id = await order_until(live_client, live_market, "completed")
    responses = await asyncio.gather(
        *(
            review(live_client, live_market, order_id, {"rating": rating}, who=who)
            for rating, who in ((5, "owner"), (1, "admin"), (3, "purchaser"), (2, "owner"))
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"] == "urn:marketplace:problem:already-reviewed"
    assert (
        await scalar(
            database_url, "SELECT count(*) FROM reviews WHERE order_id = $1", uuid.UUID(order_id)
        )
        == 1
    )
    assert (
        await scalar(
            database_url,
            "SELECT count(*) FROM outbox_events WHERE type = 'review.created' "
            "AND payload->>'order_id' = $1",
            order_id,
        )
        == 1
    )


async def test_an_order_says_whether_its_buyer_reviewed_it(
    client: httpx.AsyncClient, market: Market
) -> None:
    """`reviewed` on the order (detail and list, both sides) is what the app reads to
    stop offering a second review."""
    order_id = await order_until(client, market, "completed")
    other_id = await order_until(client, market, "completed")

    async def reviewed(who: str) -> tuple[bool, dict[str, bool]]:
        detail = await client.get(f"/api/v1/orders/{order_id}", headers=market.headers[who])
        assert detail.status_code == 200, detail.text
        listed = await client.get("/api/v1/orders", headers=market.headers[who])
        assert listed.status_code == 200, listed.text
        flags = {
            order["id"]: order["reviewed"]
            for order in listed.json()["items"]
            if order["id"] in (order_id, other_id)
        }
        return detail.json()["reviewed"], flags

    assert await reviewed("owner") == (False, {order_id: False, other_id: False})
    assert (await review(client, market, order_id, {"rating": 5})).status_code == 201
    assert await reviewed("owner") == (True, {order_id: True, other_id: False})
    assert await reviewed("supplier") == (True, {order_id: True, other_id: False})
