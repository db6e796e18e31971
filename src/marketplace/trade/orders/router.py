"""Carts, checkout, orders and their transitions; a buyer's purchasing policy."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import CacheDep, SessionDep
from marketplace.core.idempotency import Idempotency
from marketplace.core.openapi import problems
from marketplace.core.pagination import Cursor, Limit, Page
from marketplace.trade.orders import service
from marketplace.trade.orders.schemas import (
    CartLineInput,
    CartRead,
    CheckoutRequest,
    OrderCreate,
    OrderDetail,
    OrderRead,
    OrdersPlaced,
    PurchasingPolicyInput,
    PurchasingPolicyRead,
    TransitionRequest,
)
from marketplace.trade.orders.state_machine import OrderStatus

orders_router = APIRouter(tags=["orders"])

Buyer = Annotated[Actor, acting(Action.ORDERS_BUY)]
Reader = Annotated[Actor, acting(Action.ORDERS_READ)]
AnySide = Annotated[Actor, acting(Action.ORDERS_READ)]
PolicyReader = Annotated[Actor, acting(Action.COMPANY_READ, from_path=True)]
PolicyWriter = Annotated[Actor, acting(Action.ORDERS_APPROVE, from_path=True)]

IDEMPOTENCY_DOC = (
    "Send an `Idempotency-Key` header to make retries safe: the same key with the same "
    "body returns the first response; with a different body 422; while the first is "
    "still running 409. A key is yours, for the company you act for and this endpoint: "
    "another company's request with the same key is a request of its own."
)


@orders_router.get("/cart", response_model=CartRead)
async def read_cart(actor: Buyer, session: SessionDep) -> CartRead:
    """Your cart for the acting company, priced now, with per-supplier subtotals."""
    return await service.read_cart(session, actor)


@orders_router.put("/cart/lines/{product_id}", response_model=CartRead)
async def set_cart_line(
    product_id: uuid.UUID, body: CartLineInput, actor: Buyer, session: SessionDep
) -> CartRead:
    """Add a product or change its quantity (MOQ and pack size are checked)."""
    return await service.set_cart_line(session, actor, product_id, body.quantity)


@orders_router.delete("/cart/lines/{product_id}", response_model=CartRead)
async def remove_cart_line(product_id: uuid.UUID, actor: Buyer, session: SessionDep) -> CartRead:
    """Take a product out of the cart."""
    return await service.remove_cart_line(session, actor, product_id)


@orders_router.delete("/cart", response_model=CartRead)
async def empty_cart(actor: Buyer, session: SessionDep) -> CartRead:
    """Remove every line."""
    return await service.remove_cart_line(session, actor, None)


@orders_router.post(
    "/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=OrdersPlaced,
    description="Turn the cart into one order per supplier, all or nothing. " + IDEMPOTENCY_DOC,
    responses=problems(409),
)
async def checkout(
    body: CheckoutRequest,
    actor: Buyer,
    session: SessionDep,
    cache: CacheDep,
    idempotency: Idempotency,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    placed = await service.checkout(session, cache, actor, body)
    details = await service.describe(session, actor.company_id, placed.orders, placed)
    return await idempotency.complete(
        session, status.HTTP_201_CREATED, OrdersPlaced(orders=details)
    )


@orders_router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderDetail,
    description="Place one order with one supplier directly (integrations). " + IDEMPOTENCY_DOC,
    responses=problems(409),
)
async def place_order(
    body: OrderCreate,
    actor: Buyer,
    session: SessionDep,
    cache: CacheDep,
    idempotency: Idempotency,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    placed = await service.place_direct_order(session, cache, actor, body)
    detail = (await service.describe(session, actor.company_id, placed.orders, placed))[0]
    return await idempotency.complete(session, status.HTTP_201_CREATED, detail)


@orders_router.get("/orders", response_model=Page[OrderRead])
async def list_orders(
    actor: Reader,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    side: Annotated[Literal["buying", "selling"] | None, Query()] = None,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
) -> Page[OrderRead]:
    """The acting company's orders, as buyer or supplier, newest first."""
    return await service.list_orders(
        session, actor, side=side, status=order_status, limit=limit, cursor=cursor
    )


@orders_router.get("/orders/{order_id}", response_model=OrderDetail)
async def get_order(order_id: uuid.UUID, actor: AnySide, session: SessionDep) -> OrderDetail:
    """One order with its lines and full history (buyer, supplier)."""
    return await service.get_order(session, actor, order_id)


@orders_router.get("/orders/{order_id}/transitions", response_model=OrderDetail)
async def order_history(order_id: uuid.UUID, actor: AnySide, session: SessionDep) -> OrderDetail:
    """The order with every transition: who, when, why."""
    return await service.get_order(session, actor, order_id)


@orders_router.post(
    "/orders/{order_id}/transitions", response_model=OrderDetail, responses=problems(409)
)
async def transition_order(
    order_id: uuid.UUID,
    body: TransitionRequest,
    actor: AnySide,
    session: SessionDep,
    cache: CacheDep,
) -> OrderDetail:
    """Move the order: approve/decline (buyer owner or admin), cancel/complete (buyer),
    confirm/reject/ship/deliver (supplier). An illegal move answers 409."""
    order = await service.transition(session, cache, actor, order_id, body)
    return (await service.describe(session, actor.company_id, [order]))[0]


@orders_router.get("/companies/{company_id}/purchasing-policy", response_model=PurchasingPolicyRead)
async def get_policy(actor: PolicyReader, session: SessionDep) -> PurchasingPolicyRead:
    """Orders above the threshold wait for an owner or admin to approve them."""
    threshold = await service.get_policy(session, actor)
    return PurchasingPolicyRead(company_id=actor.company_id, approval_threshold=threshold)


@orders_router.put("/companies/{company_id}/purchasing-policy", response_model=PurchasingPolicyRead)
async def set_policy(
    body: PurchasingPolicyInput, actor: PolicyWriter, session: SessionDep
) -> PurchasingPolicyRead:
    """Set (or clear, with null) the company-wide approval threshold."""
    await service.set_policy(session, actor, body.approval_threshold)
    return PurchasingPolicyRead(
        company_id=actor.company_id, approval_threshold=body.approval_threshold
    )
