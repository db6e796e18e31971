"""Reviews: a buyer rates the supplier of a completed order; anyone reads them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from marketplace.companies.deps import acting
from marketplace.companies.permissions import Action
from marketplace.core.access import Actor
from marketplace.core.deps import CacheDep, SessionDep
from marketplace.core.openapi import problems
from marketplace.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from marketplace.trade.reviews import service
from marketplace.trade.reviews.schemas import ReviewCreate, ReviewDetail, ReviewRead

reviews_router = APIRouter(tags=["reviews"])

Reviewer = Annotated[Actor, acting(Action.ORDERS_BUY)]


@reviews_router.post(
    "/orders/{order_id}/review",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewDetail,
    responses=problems(409),
)
async def review_order(
    order_id: uuid.UUID,
    body: ReviewCreate,
    actor: Reviewer,
    session: SessionDep,
    cache: CacheDep,
) -> ReviewDetail:
    """Rate the supplier of a completed order (1-5, optional comment), once per order.
    The buyer's owners, admins and purchasers may; a second review is 409."""
    return await service.create_review(session, cache, actor, order_id, body)


@reviews_router.get("/companies/{company_id}/reviews", response_model=Page[ReviewRead])
async def list_reviews(
    company_id: uuid.UUID,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReviewRead]:
    """A supplier's reviews, newest first (public)."""
    return await service.list_reviews(session, company_id, limit=limit, cursor=cursor)
