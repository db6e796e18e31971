"""Requests for quotation, quotes, the comparison and the award."""

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
from marketplace.trade.orders.router import IDEMPOTENCY_DOC
from marketplace.trade.rfqs import service
from marketplace.trade.rfqs.schemas import (
    AwardRequest,
    AwardResult,
    Comparison,
    QuoteRead,
    QuoteSubmit,
    RfqCreate,
    RfqRead,
)

rfqs_router = APIRouter(prefix="/rfqs", tags=["rfqs"])

Buyer = Annotated[Actor, acting(Action.RFQS_BUY)]
Quoter = Annotated[Actor, acting(Action.RFQS_QUOTE)]
Reader = Annotated[Actor, acting(Action.RFQS_READ)]


@rfqs_router.post("", status_code=status.HTTP_201_CREATED, response_model=RfqRead)
async def create_rfq(body: RfqCreate, actor: Buyer, session: SessionDep) -> RfqRead:
    """Create a draft RFQ: items (catalog product or free text), deadline, visibility."""
    return await service.create_rfq(session, actor, body)


@rfqs_router.get("", response_model=Page[RfqRead])
async def list_rfqs(
    actor: Reader,
    session: SessionDep,
    role: Annotated[Literal["buyer", "supplier"], Query()] = "buyer",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[RfqRead]:
    """`role=buyer`: your company's RFQs. `role=supplier`: RFQs you may quote on
    (invitations, and public RFQs in categories you sell in)."""
    return await service.list_rfqs(session, actor, role=role, limit=limit, cursor=cursor)


@rfqs_router.get("/{rfq_id}", response_model=RfqRead)
async def get_rfq(rfq_id: uuid.UUID, actor: Reader, session: SessionDep) -> RfqRead:
    return await service.get_rfq(session, actor, rfq_id)


@rfqs_router.post("/{rfq_id}/publish", response_model=RfqRead, responses=problems(409))
async def publish_rfq(rfq_id: uuid.UUID, actor: Buyer, session: SessionDep) -> RfqRead:
    """Open the draft for quotes until its deadline."""
    return await service.publish(session, actor, rfq_id)


@rfqs_router.post("/{rfq_id}/cancel", response_model=RfqRead, responses=problems(409))
async def cancel_rfq(rfq_id: uuid.UUID, actor: Buyer, session: SessionDep) -> RfqRead:
    return await service.cancel(session, actor, rfq_id)


@rfqs_router.post(
    "/{rfq_id}/quotes",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteRead,
    responses=problems(409),
)
async def submit_quote(
    rfq_id: uuid.UUID, body: QuoteSubmit, actor: Quoter, session: SessionDep
) -> QuoteRead:
    """Submit your quote, or revise it (one live quote per supplier; history kept)."""
    return await service.submit_quote(session, actor, rfq_id, body)


@rfqs_router.get("/{rfq_id}/quotes", response_model=list[QuoteRead])
async def list_quotes(rfq_id: uuid.UUID, actor: Reader, session: SessionDep) -> list[QuoteRead]:
    """The buyer sees every quote; a supplier sees only its own."""
    return await service.list_quotes(session, actor, rfq_id)


@rfqs_router.delete("/{rfq_id}/quotes/mine", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_quote(rfq_id: uuid.UUID, actor: Quoter, session: SessionDep) -> None:
    await service.withdraw_quote(session, actor, rfq_id)


@rfqs_router.get("/{rfq_id}/comparison", response_model=Comparison)
async def comparison(rfq_id: uuid.UUID, actor: Buyer, session: SessionDep) -> Comparison:
    """Per item, each supplier's price, line total and lead time; the best marked."""
    return await service.compare(session, actor, rfq_id)


@rfqs_router.post(
    "/{rfq_id}/award",
    status_code=status.HTTP_201_CREATED,
    response_model=AwardResult,
    description="Award each line to a quote; one order per awarded supplier at the "
    "quoted prices, under the buyer's approval rules. " + IDEMPOTENCY_DOC,
    responses=problems(409),
)
async def award(
    rfq_id: uuid.UUID,
    body: AwardRequest,
    actor: Buyer,
    session: SessionDep,
    cache: CacheDep,
    idempotency: Idempotency,
) -> Response:
    if idempotency.replay is not None:
        return idempotency.replay
    rfq, order_ids = await service.award(session, cache, actor, rfq_id, body)
    return await idempotency.complete(
        session, status.HTTP_201_CREATED, AwardResult(rfq=rfq, order_ids=order_ids)
    )
