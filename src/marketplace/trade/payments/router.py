"""Payments of an order: the supplier records and reverses them; both sides (and staff)
list them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status

from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import SessionDep
from marketplace.core.idempotency import Idempotency
from marketplace.core.openapi import problems
from marketplace.core.pagination import Cursor, Limit, Page
from marketplace.trade.orders.deps import OrderReader
from marketplace.trade.payments import service
from marketplace.trade.payments.schemas import (
    PaymentCreate,
    PaymentRead,
    PaymentRecorded,
    PaymentReversal,
)

payments_router = APIRouter(tags=["payments"])

Fulfiller = Annotated[Actor, acting(Action.ORDERS_FULFIL)]


@payments_router.post(
    "/orders/{order_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentRecorded,
    responses=problems(409),
)
async def record_payment(
    order_id: uuid.UUID,
    body: PaymentCreate,
    actor: Fulfiller,
    session: SessionDep,
    idempotency: Idempotency,
) -> Response:
    """The supplier records a payment received, in the order's currency. The order
    becomes `partially_paid`, or `paid` once its total is reached; more than the
    amount still due is refused (409), as are payments on orders awaiting approval,
    cancelled or rejected (409). Send an `Idempotency-Key` header so that a retry
    never records the payment twice: the same key with the same body returns the
    first response; with a different body 422; while the first is still running 409."""
    if idempotency.replay is not None:
        return idempotency.replay
    recorded = await service.record_payment(session, actor, order_id, body)
    return await idempotency.complete(session, status.HTTP_201_CREATED, recorded)


@payments_router.post(
    "/orders/{order_id}/payments/{payment_id}/reversal",
    response_model=PaymentRecorded,
    responses=problems(409),
)
async def reverse_payment(
    order_id: uuid.UUID,
    payment_id: uuid.UUID,
    body: PaymentReversal,
    actor: Fulfiller,
    session: SessionDep,
    idempotency: Idempotency,
) -> Response:
    """The supplier reverses a payment it recorded (by mistake, bounced, refunded), with
    the reason. The payment stays listed, marked reversed, and no longer counts: the
    order is partially paid or unpaid again. A payment is reversed once (409 after).
    `Idempotency-Key` as for recording."""
    if idempotency.replay is not None:
        return idempotency.replay
    reversed_ = await service.reverse_payment(session, actor, order_id, payment_id, body)
    return await idempotency.complete(session, status.HTTP_200_OK, reversed_)


@payments_router.get("/orders/{order_id}/payments", response_model=Page[PaymentRead])
async def list_payments(
    order_id: uuid.UUID,
    viewer: OrderReader,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[PaymentRead]:
    """The order's payments, oldest first (buyer, supplier, staff)."""
    return await service.list_payments(session, viewer, order_id, limit=limit, cursor=cursor)
