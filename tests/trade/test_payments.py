"""Payments of orders: the supplier records them, the payment status follows, nothing is
lost under concurrency, and the overdue job flags unpaid orders past their due date."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.permissions import Scope
from marketplace.core.outbox import OutboxEvent
from marketplace.trade.models import Order, Payment
from marketplace.trade.payments.repository import clear_overdue_statement
from marketplace.trade.payments.service import flag_overdue_orders
from tests.factories import add_member, bearer_headers, make_api_key, make_user, platform_of
from tests.trade.conftest import Market, order_body

TODAY = datetime.now(UTC).date()


def payment(amount: str, **extra: object) -> dict[str, object]:
    return {"amount": amount, "paid_on": TODAY.isoformat(), "method": "bank_transfer", **extra}


async def place(
    client: httpx.AsyncClient, market: Market, role: str = "owner", bolts: int = 120
) -> dict[str, Any]:
    """An order of the buyer with Bolt Works: 120 bolts at 0.40 and 8 washers, 48.10 EUR."""
    response = await client.post(
        "/api/v1/orders",
        json=order_body((market.bolts, bolts), (market.washers, 8)),
        headers=market.headers[role],
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def events_of(session: AsyncSession, order_id: str) -> list[str]:
    rows = await session.execute(
        select(OutboxEvent.type)
        .where(OutboxEvent.aggregate_id == uuid.UUID(order_id))
        .order_by(OutboxEvent.occurred_at)
    )
    return list(rows.scalars())


async def payment_state(session: AsyncSession, order_id: str) -> tuple[Decimal, str, int]:
    order = await session.get(Order, uuid.UUID(order_id), populate_existing=True)
    assert order is not None
    count = await session.scalar(
        select(func.count()).select_from(Payment).where(Payment.order_id == order.id)
    )
    return order.amount_paid, order.payment_status, int(count or 0)


async def test_payments_make_the_order_partially_paid_then_paid(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = await place(client, market)
    assert (order["payment_status"], order["amount_paid"], order["total"]) == (
        "unpaid",
        "0.00",
        "48.10",
    )
    assert order["due_date"] == (TODAY + timedelta(days=30)).isoformat()
    assert order["is_overdue"] is False
    url = f"/api/v1/orders/{order['id']}/payments"

    first = await client.post(
        url, json=payment("20.00", reference="SEPA-1"), headers=market.headers["supplier"]
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["payment"]["amount"] == "20.00"
    assert body["payment"]["currency"] == "EUR"
    assert body["payment"]["reference"] == "SEPA-1"
    assert body["payment"]["method"] == "bank_transfer"
    assert (body["order"]["payment_status"], body["order"]["amount_paid"]) == (
        "partially_paid",
        "20.00",
    )

    second = await client.post(
        url, json=payment("28.10", method="card"), headers=market.headers["supplier"]
    )
    assert second.status_code == 201, second.text
    assert (second.json()["order"]["payment_status"], second.json()["order"]["amount_paid"]) == (
        "paid",
        "48.10",
    )
    assert await payment_state(db_session, order["id"]) == (Decimal("48.10"), "paid", 2)
    assert await events_of(db_session, order["id"]) == [
        "order.placed",
        "order.payment_recorded",
        "order.payment_recorded",
        "order.paid",
    ]
    paid_event = (
        await db_session.execute(
            select(OutboxEvent.payload).where(
                OutboxEvent.aggregate_id == uuid.UUID(order["id"]),
                OutboxEvent.type == "order.paid",
            )
        )
    ).scalar_one()
    assert paid_event["total"] == "48.10"
    assert paid_event["currency"] == "EUR"

    # Both sides see the payments, oldest first, and the order's payment state.
    listed = await client.get(url, headers=market.headers["viewer"])
    assert listed.status_code == 200
    assert [item["amount"] for item in listed.json()["items"]] == ["20.00", "28.10"]
    assert listed.json()["next_cursor"] is None
    seen = await client.get(f"/api/v1/orders/{order['id']}", headers=market.headers["viewer"])
    assert (seen.json()["payment_status"], seen.json()["amount_paid"]) == ("paid", "48.10")


async def test_payments_list_pages_with_a_cursor(client: httpx.AsyncClient, market: Market) -> None:
    order = await place(client, market)
    url = f"/api/v1/orders/{order['id']}/payments"
    for amount in ("1.00", "2.00", "3.00"):
        response = await client.post(url, json=payment(amount), headers=market.headers["supplier"])
        assert response.status_code == 201
    first = (await client.get(url, params={"limit": 2}, headers=market.headers["owner"])).json()
    assert [item["amount"] for item in first["items"]] == ["1.00", "2.00"]
    rest = (
        await client.get(
            url,
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=market.headers["owner"],
        )
    ).json()
    assert [item["amount"] for item in rest["items"]] == ["3.00"]
    assert rest["next_cursor"] is None
    bad = await client.get(
        url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=market.headers["owner"]
    )
    assert bad.status_code == 400
    assert bad.json()["type"].endswith("invalid-cursor")


async def test_more_than_is_due_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = await place(client, market)
    url = f"/api/v1/orders/{order['id']}/payments"
    too_much = await client.post(url, json=payment("48.11"), headers=market.headers["supplier"])
    assert too_much.status_code == 409
    assert too_much.json()["type"].endswith("overpayment")
    assert "48.10 EUR" in too_much.json()["detail"]
    assert await payment_state(db_session, order["id"]) == (Decimal("0.00"), "unpaid", 0)

    paid = await client.post(url, json=payment("48.10"), headers=market.headers["supplier"])
    assert paid.status_code == 201
    again = await client.post(url, json=payment("0.01"), headers=market.headers["supplier"])
    assert again.status_code == 409
    assert again.json()["type"].endswith("overpayment")
    assert await payment_state(db_session, order["id"]) == (Decimal("48.10"), "paid", 1)
    assert (await events_of(db_session, order["id"])).count("order.paid") == 1


@pytest.mark.parametrize("state", ["pending_approval", "cancelled", "rejected"])
async def test_orders_awaiting_approval_or_closed_take_no_payment(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession, state: str
) -> None:
    if state == "pending_approval":
        # 300 bolts (120.00 EUR) are beyond the purchaser's spending limit of 100.
        order = await place(client, market, role="purchaser", bolts=300)
        assert order["status"] == "pending_approval"
    else:
        order = await place(client, market)
        action, side = ("cancel", "owner") if state == "cancelled" else ("reject", "supplier")
        moved = await client.post(
            f"/api/v1/orders/{order['id']}/transitions",
            json={"action": action, "reason": "no longer needed"},
            headers=market.headers[side],
        )
        assert moved.status_code == 200, moved.text
    response = await client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json=payment("10.00"),
        headers=market.headers["supplier"],
    )
    if state == "pending_approval":
        # Awaiting the buyer's approval, the order is not the supplier's to see at all.
        assert response.status_code == 404
        assert response.json()["type"].endswith(":not-found")
    else:
        assert response.status_code == 409
        assert response.json()["type"].endswith("order-not-payable")
        assert state in response.json()["detail"]
    amount_paid, status, count = await payment_state(db_session, order["id"])
    assert (amount_paid, status, count) == (Decimal("0.00"), "unpaid", 0)


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        (payment("0"), "amount", "greater_than"),
        (payment("0.00"), "amount", "greater_than"),
        (payment("-5.00"), "amount", "greater_than"),
        (payment("ten"), "amount", "decimal_parsing"),
        (payment("1.234"), "amount", "decimal_max_places"),
        (payment("1e400"), "amount", None),
        (payment("NaN"), "amount", None),
        (payment("10.00", paid_on="2026-13-01"), "paid_on", None),
        (payment("10.00", paid_on="yesterday"), "paid_on", None),
        (payment("10.00", method="barter"), "method", "enum"),
        (payment("10.00", reference="x" * 101), "reference", "string_too_long"),
        (payment("10.00", reference="line\nbreak"), "reference", None),
        (payment("10.00", currency="USD"), "currency", "extra_forbidden"),
        ({"amount": "10.00", "method": "cash"}, "paid_on", "missing"),
    ],
)
async def test_bad_payment_input_is_422_and_nothing_is_written(
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    body: dict[str, object],
    field: str,
    kind: str | None,
) -> None:
    order = await place(client, market)
    response = await client.post(
        f"/api/v1/orders/{order['id']}/payments", json=body, headers=market.headers["supplier"]
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("validation-failed")
    assert [error["loc"][-1] for error in problem["errors"]] == [field]
    if kind is not None:
        assert problem["errors"][0]["type"] == kind
    assert await payment_state(db_session, order["id"]) == (Decimal("0.00"), "unpaid", 0)
    assert await events_of(db_session, order["id"]) == ["order.placed"]


async def test_a_payment_dated_in_the_future_is_refused(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = await place(client, market)
    url = f"/api/v1/orders/{order['id']}/payments"
    later = (TODAY + timedelta(days=2)).isoformat()
    response = await client.post(
        url, json=payment("10.00", paid_on=later), headers=market.headers["supplier"]
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("payment-date-in-future")
    assert response.json()["errors"][0]["loc"] == ["body", "paid_on"]
    assert await payment_state(db_session, order["id"]) == (Decimal("0.00"), "unpaid", 0)
    earlier = (TODAY - timedelta(days=3)).isoformat()
    past = await client.post(
        url, json=payment("10.00", paid_on=earlier), headers=market.headers["supplier"]
    )
    assert past.status_code == 201
    assert past.json()["payment"]["paid_on"] == earlier


async def test_unknown_order_is_404(client: httpx.AsyncClient, market: Market) -> None:
    url = f"/api/v1/orders/{uuid.uuid4()}/payments"
    posted = await client.post(url, json=payment("1.00"), headers=market.headers["supplier"])
    assert posted.status_code == 404
    listed = await client.get(url, headers=market.headers["supplier"])
    assert listed.status_code == 404


async def extra_headers(
    app: FastAPI, db_session: AsyncSession, market: Market
) -> dict[str, dict[str, str]]:
    """Supplier members by role, API keys, staff, and a stranger company's owner."""
    headers: dict[str, dict[str, str]] = {}
    for role in ("sales", "viewer"):
        user = await make_user(db_session, name=f"supplier {role}")
        await add_member(db_session, market.supplier, user, role)
        headers[f"supplier_{role}"] = await bearer_headers(app, db_session, user, market.supplier)
    _key, headers["supplier_key_write"] = await make_api_key(
        app, db_session, market.supplier, [Scope.ORDERS_WRITE]
    )
    _key, headers["supplier_key_read"] = await make_api_key(
        app, db_session, market.supplier, [Scope.ORDERS_READ]
    )
    _key, headers["supplier_key_catalog"] = await make_api_key(
        app, db_session, market.supplier, [Scope.CATALOG_READ]
    )
    _key, headers["buyer_key_read"] = await make_api_key(
        app, db_session, market.buyer, [Scope.ORDERS_READ]
    )
    staff = await make_user(db_session, name="staff", is_staff=True)
    headers["staff"] = await bearer_headers(app, db_session, staff)
    return headers


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "invalid-credentials"),
        ("other_supplier", 404, "not-found"),
        ("owner", 403, "not-the-supplier"),  # the buyer's owner may fulfil, but not here
        ("purchaser", 403, "role-not-allowed"),
        ("supplier_viewer", 403, "role-not-allowed"),
        ("supplier_key_read", 403, "scope-not-allowed"),
        ("supplier_sales", 201, None),
        ("supplier_key_write", 201, None),
        ("supplier", 201, None),
    ],
)
async def test_who_may_record_a_payment(
    app: FastAPI,
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    status: int,
    code: str | None,
) -> None:
    headers = {**market.headers, **await extra_headers(app, db_session, market), "anonymous": {}}
    order = await place(client, market)
    response = await client.post(
        f"/api/v1/orders/{order['id']}/payments", json=payment("5.00"), headers=headers[who]
    )
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["type"].endswith(code)
        assert await payment_state(db_session, order["id"]) == (Decimal("0.00"), "unpaid", 0)
        assert await events_of(db_session, order["id"]) == ["order.placed"]
    else:
        assert await payment_state(db_session, order["id"]) == (
            Decimal("5.00"),
            "partially_paid",
            1,
        )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("other_supplier", 404),
        ("supplier_key_catalog", 403),
        ("viewer", 200),
        ("purchaser", 200),
        ("buyer_key_read", 200),
        ("supplier_viewer", 200),
        ("staff", 200),
    ],
)
async def test_who_may_list_payments(
    app: FastAPI,
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    status: int,
) -> None:
    headers = {**market.headers, **await extra_headers(app, db_session, market), "anonymous": {}}
    order = await place(client, market)
    url = f"/api/v1/orders/{order['id']}/payments"
    assert (
        await client.post(url, json=payment("5.00"), headers=market.headers["supplier"])
    ).status_code == 201
    response = await client.get(url, headers=headers[who])
    assert response.status_code == status, response.text
    if status == 200:
        assert [item["amount"] for item in response.json()["items"]] == ["5.00"]


async def test_concurrent_payments_lose_no_update_and_never_overpay(
    live_client: httpx.AsyncClient, live_market: Market, live_app: FastAPI
) -> None:
    order = await place(live_client, live_market, bolts=100)  # 40.00 + 0.10 = 40.10
    # 30 payments of 2.00 race for 40.10: exactly 20 fit (40.00), the others are 409.
    responses = await asyncio.gather(
        *(
            live_client.post(
                f"/api/v1/orders/{order['id']}/payments",
                json=payment("2.00"),
                headers=live_market.headers["supplier"],
            )
            for _ in range(30)
        )
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 20, statuses
    assert statuses.count(409) == 10
    async with platform_of(live_app).database.session_factory() as session:
        amount_paid, status, count = await payment_state(session, order["id"])
        total = await session.scalar(
            select(func.sum(Payment.amount)).where(Payment.order_id == uuid.UUID(order["id"]))
        )
        events = await events_of(session, order["id"])
    assert (amount_paid, status, count, total) == (
        Decimal("40.00"),
        "partially_paid",
        20,
        Decimal("40.00"),
    )
    assert events.count("order.payment_recorded") == 20
    # The last 0.10, twice at once: one pays the order, the other is refused.
    last = await asyncio.gather(
        *(
            live_client.post(
                f"/api/v1/orders/{order['id']}/payments",
                json=payment("0.10"),
                headers=live_market.headers["supplier"],
            )
            for _ in range(2)
        )
    )
    assert sorted(response.status_code for response in last) == [201, 409]
    async with platform_of(live_app).database.session_factory() as session:
        assert (await payment_state(session, order["id"]))[:2] == (Decimal("40.10"), "paid")
        assert (await events_of(session, order["id"])).count("order.paid") == 1


# -- the overdue job ----------------------------------------------------------------------


async def set_due(session: AsyncSession, order_id: str, due: date) -> None:
    await session.execute(update(Order).where(Order.id == uuid.UUID(order_id)).values(due_date=due))


async def overdue_flag(session: AsyncSession, order_id: str) -> bool:
    order = await session.get(Order, uuid.UUID(order_id), populate_existing=True)
    assert order is not None
    return order.is_overdue


async def test_overdue_job_flags_unpaid_orders_past_due_once(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    late = await place(client, market)
    partly = await place(client, market)
    due_today = await place(client, market)
    paid = await place(client, market)
    cancelled = await place(client, market)
    waiting = await place(client, market, role="purchaser", bolts=300)
    supplier = market.headers["supplier"]
    assert (
        await client.post(
            f"/api/v1/orders/{partly['id']}/payments", json=payment("10.00"), headers=supplier
        )
    ).status_code == 201
    assert (
        await client.post(
            f"/api/v1/orders/{paid['id']}/payments", json=payment("48.10"), headers=supplier
        )
    ).status_code == 201
    assert (
        await client.post(
            f"/api/v1/orders/{cancelled['id']}/transitions",
            json={"action": "cancel"},
            headers=market.headers["owner"],
        )
    ).status_code == 200
    yesterday = TODAY - timedelta(days=1)
    for order in (late, partly, paid, cancelled, waiting):
        await set_due(db_session, order["id"], yesterday)
    await set_due(db_session, due_today["id"], TODAY)

    await flag_overdue_orders(db_session, platform_of(app))
    flags = {
        name: await overdue_flag(db_session, order["id"])
        for name, order in (
            ("late", late),
            ("partly", partly),
            ("due_today", due_today),
            ("paid", paid),
            ("cancelled", cancelled),
            ("waiting", waiting),
        )
    }
    assert flags == {
        "late": True,
        "partly": True,
        "due_today": False,
        "paid": False,
        "cancelled": False,
        "waiting": False,
    }
    overdue_event = (
        await db_session.execute(
            select(OutboxEvent).where(
                OutboxEvent.aggregate_id == uuid.UUID(partly["id"]),
                OutboxEvent.type == "order.overdue",
            )
        )
    ).scalar_one()
    assert overdue_event.payload["due_date"] == yesterday.isoformat()
    assert overdue_event.payload["amount_paid"] == "10.00"
    assert set(overdue_event.company_ids) == {market.buyer.id, market.supplier.id}

    # Run again: still flagged, no second event.
    await flag_overdue_orders(db_session, platform_of(app))
    for order in (late, partly):
        assert (await events_of(db_session, order["id"])).count("order.overdue") == 1
        assert await overdue_flag(db_session, order["id"])
    for order in (due_today, paid, cancelled, waiting):
        assert "order.overdue" not in await events_of(db_session, order["id"])

    # The order reads as overdue on both sides.
    read = await client.get(f"/api/v1/orders/{late['id']}", headers=market.headers["viewer"])
    assert read.json()["is_overdue"] is True

    # Paying in full takes the flag off at once.
    response = await client.post(
        f"/api/v1/orders/{partly['id']}/payments", json=payment("38.10"), headers=supplier
    )
    assert response.status_code == 201
    assert response.json()["order"]["is_overdue"] is False
    assert not await overdue_flag(db_session, partly["id"])


async def test_overdue_job_clears_the_flag_of_paid_and_closed_orders(
    app: FastAPI, client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    late = await place(client, market)
    await set_due(db_session, late["id"], TODAY - timedelta(days=5))
    await flag_overdue_orders(db_session, platform_of(app))
    assert await overdue_flag(db_session, late["id"])
    # Cancelled after it became overdue: nothing is owed any more.
    assert (
        await client.post(
            f"/api/v1/orders/{late['id']}/transitions",
            json={"action": "cancel"},
            headers=market.headers["owner"],
        )
    ).status_code == 200
    assert await overdue_flag(db_session, late["id"])
    await flag_overdue_orders(db_session, platform_of(app))
    assert not await overdue_flag(db_session, late["id"])
    assert (await events_of(db_session, late["id"])).count("order.overdue") == 1


def test_overdue_job_is_registered() -> None:
    from marketplace.jobs import build_jobs

    jobs = {job.name: job for job in build_jobs()}
    assert jobs["order-overdue"].run is flag_overdue_orders


async def test_retries_with_one_idempotency_key_record_one_payment(
    live_client: httpx.AsyncClient, live_market: Market, live_app: FastAPI
) -> None:
    order = await place(live_client, live_market)
    url = f"/api/v1/orders/{order['id']}/payments"
    headers = {**live_market.headers["supplier"], "Idempotency-Key": f"pay-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(live_client.post(url, json=payment("10.00"), headers=headers) for _ in range(8))
    )
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["payment"]["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    replay = await live_client.post(url, json=payment("10.00"), headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["payment"]["id"] in created
    different = await live_client.post(url, json=payment("11.00"), headers=headers)
    assert different.status_code == 422
    assert different.json()["type"].endswith("idempotency-key-reused")
    async with platform_of(live_app).database.session_factory() as session:
        assert await payment_state(session, order["id"]) == (
            Decimal("10.00"),
            "partially_paid",
            1,
        )


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_payment_events_notify_with_every_value_filled_in(language: str) -> None:
    from marketplace.notifications.rules import RULES
    from marketplace.notifications.templates import render
    from marketplace.trade.events import (
        OrderOverdue,
        OrderPaid,
        OrderPaymentRecorded,
        OrderPaymentReversed,
    )

    parties: dict[str, Any] = {
        "order_id": uuid.uuid4(),
        "number": "ORD-2026-000042",
        "buyer_id": uuid.uuid4(),
        "supplier_id": uuid.uuid4(),
    }
    events = [
        OrderPaymentRecorded(
            **parties,
            payment_id=uuid.uuid4(),
            amount=Decimal("20.00"),
            currency="EUR",
            paid_on=TODAY,
            method="card",
            amount_paid=Decimal("20.00"),
            total=Decimal("48.10"),
            payment_status="partially_paid",
        ),
        OrderPaymentReversed(
            **parties,
            payment_id=uuid.uuid4(),
            amount=Decimal("20.00"),
            currency="EUR",
            reason="Cheque bounced",
            amount_paid=Decimal("0.00"),
            total=Decimal("48.10"),
            payment_status="unpaid",
        ),
        OrderPaid(**parties, currency="EUR", total=Decimal("48.10"), paid_on=TODAY),
        OrderOverdue(
            **parties,
            currency="EUR",
            total=Decimal("48.10"),
            amount_paid=Decimal("0.00"),
            due_date=TODAY,
        ),
    ]
    for event in events:
        rendered = render(RULES[event.type], event.model_dump(mode="json"), language)
        assert "ORD-2026-000042" in rendered.title + rendered.body
        assert " -" not in rendered.body  # no placeholder left without a value
        assert rendered.link == f"/orders/{parties['order_id']}"


async def test_clearing_overdue_flags_reads_only_flagged_orders(db_session: AsyncSession) -> None:
    sql = clear_overdue_statement().compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    # The planner would scan a test's few rows; forbidding that shows the index fits.
    await db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join((await db_session.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_orders_overdue" in plan, plan


# -- reversals ----------------------------------------------------------------------------


async def record(client: httpx.AsyncClient, market: Market, order_id: str, amount: str) -> str:
    response = await client.post(
        f"/api/v1/orders/{order_id}/payments",
        json=payment(amount),
        headers=market.headers["supplier"],
    )
    assert response.status_code == 201, response.text
    return str(response.json()["payment"]["id"])


def reversal_url(order_id: str, payment_id: str) -> str:
    return f"/api/v1/orders/{order_id}/payments/{payment_id}/reversal"


async def test_a_reversed_payment_stays_listed_and_no_longer_counts(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = await place(client, market)  # 48.10
    first = await record(client, market, order["id"], "20.00")
    second = await record(client, market, order["id"], "28.10")
    supplier = market.headers["supplier"]

    response = await client.post(
        reversal_url(order["id"], second), json={"reason": "Cheque bounced"}, headers=supplier
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payment"]["id"] == second
    assert body["payment"]["reversal_reason"] == "Cheque bounced"
    assert body["payment"]["reversed_at"] is not None
    assert body["payment"]["reversed_by_user_id"] is not None
    assert (body["order"]["payment_status"], body["order"]["amount_paid"]) == (
        "partially_paid",
        "20.00",
    )
    again = await client.post(
        reversal_url(order["id"], second), json={"reason": "Twice"}, headers=supplier
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("payment-already-reversed")

    listed = (await client.get(f"/api/v1/orders/{order['id']}/payments", headers=supplier)).json()[
        "items"
    ]
    assert [(item["amount"], item["reversal_reason"]) for item in listed] == [
        ("20.00", None),
        ("28.10", "Cheque bounced"),
    ]
    emptied = await client.post(
        reversal_url(order["id"], first),
        json={"reason": "Recorded on the wrong order"},
        headers=supplier,
    )
    assert (emptied.json()["order"]["payment_status"], emptied.json()["order"]["amount_paid"]) == (
        "unpaid",
        "0.00",
    )
    # Paid in full again: the reversed payments are not part of what is due.
    await record(client, market, order["id"], "48.10")
    assert await payment_state(db_session, order["id"]) == (Decimal("48.10"), "paid", 3)
    assert await events_of(db_session, order["id"]) == [
        "order.placed",
        "order.payment_recorded",
        "order.payment_recorded",
        "order.paid",
        "order.payment_reversed",
        "order.payment_reversed",
        "order.payment_recorded",
        "order.paid",
    ]
    reversed_event = (
        (
            await db_session.execute(
                select(OutboxEvent.payload)
                .where(
                    OutboxEvent.aggregate_id == uuid.UUID(order["id"]),
                    OutboxEvent.type == "order.payment_reversed",
                )
                .order_by(OutboxEvent.seq)
            )
        )
        .scalars()
        .first()
    )
    assert reversed_event is not None
    assert (reversed_event["amount"], reversed_event["reason"], reversed_event["amount_paid"]) == (
        "28.10",
        "Cheque bounced",
        "20.00",
    )


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "invalid-credentials"),
        ("other_supplier", 404, "not-found"),
        ("owner", 403, "not-the-supplier"),
        ("purchaser", 403, "role-not-allowed"),
        ("supplier_viewer", 403, "role-not-allowed"),
        ("supplier_key_read", 403, "scope-not-allowed"),
        ("staff", 400, "company-required"),  # staff act for no company here
        ("supplier_sales", 200, None),
        ("supplier_key_write", 200, None),
    ],
)
async def test_who_may_reverse_a_payment(
    app: FastAPI,
    client: httpx.AsyncClient,
    market: Market,
    db_session: AsyncSession,
    who: str,
    status: int,
    code: str | None,
) -> None:
    headers = {**market.headers, **await extra_headers(app, db_session, market), "anonymous": {}}
    order = await place(client, market)
    payment_id = await record(client, market, order["id"], "5.00")
    response = await client.post(
        reversal_url(order["id"], payment_id), json={"reason": "Refund"}, headers=headers[who]
    )
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["type"].endswith(code)
        assert await payment_state(db_session, order["id"]) == (
            Decimal("5.00"),
            "partially_paid",
            1,
        )
        assert "order.payment_reversed" not in await events_of(db_session, order["id"])
    else:
        assert await payment_state(db_session, order["id"]) == (Decimal("0.00"), "unpaid", 1)


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "a\x00b"}],
)
async def test_a_reversal_without_a_proper_reason_is_422_and_changes_nothing(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession, body: dict[str, str]
) -> None:
    order = await place(client, market)
    payment_id = await record(client, market, order["id"], "5.00")
    response = await client.post(
        reversal_url(order["id"], payment_id), json=body, headers=market.headers["supplier"]
    )
    assert response.status_code == 422, response.text
    assert await payment_state(db_session, order["id"]) == (Decimal("5.00"), "partially_paid", 1)


async def test_unknown_payments_and_payments_of_other_orders_are_404(
    client: httpx.AsyncClient, market: Market, db_session: AsyncSession
) -> None:
    order = await place(client, market)
    other = await place(client, market)
    theirs = await record(client, market, other["id"], "5.00")
    for payment_id in (str(uuid.uuid4()), theirs):
        response = await client.post(
            reversal_url(order["id"], payment_id),
            json={"reason": "Refund"},
            headers=market.headers["supplier"],
        )
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("payment-not-found")
    assert await payment_state(db_session, other["id"]) == (Decimal("5.00"), "partially_paid", 1)


async def test_concurrent_reversals_take_each_payment_back_once(
    live_client: httpx.AsyncClient, live_market: Market, live_app: FastAPI
) -> None:
    order = await place(live_client, live_market)
    first = await record(live_client, live_market, order["id"], "20.00")
    second = await record(live_client, live_market, order["id"], "8.00")
    responses = await asyncio.gather(
        *(
            live_client.post(
                reversal_url(order["id"], payment_id),
                json={"reason": f"Refund {index}"},
                headers=live_market.headers["supplier"],
            )
            for index in range(8)
            for payment_id in (first, second)
        )
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 2, statuses
    assert statuses.count(409) == 14
    async with platform_of(live_app).database.session_factory() as session:
        assert await payment_state(session, order["id"]) == (Decimal("0.00"), "unpaid", 2)
        assert (await events_of(session, order["id"])).count("order.payment_reversed") == 2


async def test_a_retried_reversal_with_one_idempotency_key_is_replayed(
    live_client: httpx.AsyncClient, live_market: Market, live_app: FastAPI
) -> None:
    order = await place(live_client, live_market)
    payment_id = await record(live_client, live_market, order["id"], "5.00")
    headers = {**live_market.headers["supplier"], "Idempotency-Key": f"rev-{uuid.uuid4()}"}
    url = reversal_url(order["id"], payment_id)
    first = await live_client.post(url, json={"reason": "Refund"}, headers=headers)
    replay = await live_client.post(url, json={"reason": "Refund"}, headers=headers)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    async with platform_of(live_app).database.session_factory() as session:
        assert (await events_of(session, order["id"])).count("order.payment_reversed") == 1
