"""Reviews of suppliers by their buyers, and the supplier trust signals.

Who may review: the buyer company of a completed order, acting with the permission
that completes orders (`orders:buy`: owners, admins, purchasers, API keys with
`orders:write`), so that whoever may accept the goods may also rate them. One review
per order, kept by the unique constraint on `reviews.order_id`.

Trust signals come from one aggregate query over the supplier's own, indexed rows
(repository.trust_figures) and are cached per supplier (the profile is a hot public
read). A new review drops the entry at once (and again after commit, as the catalog
does); deliveries, first quotes and supplier messages drop it through the "trust-cache" consumer
(consumers.py) after their commit; the time-to-live bounds a reader that put back
figures it computed just before such a commit.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.companies import service as companies
from marketplace.companies.errors import CompanyNotFound
from marketplace.companies.schemas import TrustSignals
from marketplace.core.access import Actor
from marketplace.core.cache import Cache
from marketplace.core.events import emit
from marketplace.core.pagination import Page, decode_time_keyset
from marketplace.core.repository import by_created, page_of
from marketplace.core.tenancy import sides
from marketplace.trade.events import ReviewCreated, order_parties
from marketplace.trade.orders import repository as orders
from marketplace.trade.orders.errors import OrderNotFound
from marketplace.trade.reviews import repository
from marketplace.trade.reviews.errors import AlreadyReviewed, NotTheBuyer, OrderNotCompleted
from marketplace.trade.reviews.schemas import ReviewCreate, ReviewDetail, ReviewRead

SUPPLIER_KINDS = frozenset({"supplier", "both"})
TRUST_TTL_SECONDS: Final = 300.0


def trust_key(supplier_id: uuid.UUID) -> str:
    # v2: message response time added (entries of v1 lack it).
    return f"trade:trust:v2:{supplier_id}"


async def forget_trust(session: AsyncSession, cache: Cache, supplier_id: uuid.UUID) -> None:
    """Drop the supplier's cached trust signals now and after the commit."""
    await caching.invalidate(session, cache, [trust_key(supplier_id)])


async def create_review(
    session: AsyncSession, cache: Cache, actor: Actor, order_id: uuid.UUID, body: ReviewCreate
) -> ReviewDetail:
    order = await orders.get_order_for(session, actor, order_id)
    if order is None:
        raise OrderNotFound()
    if "buyer_id" not in sides(order, actor):
        raise NotTheBuyer()
    if order.status != "completed":
        raise OrderNotCompleted()
    review = await repository.insert_review(
        session,
        order=order,
        author_user_id=actor.user_id,
        rating=body.rating,
        comment=body.comment,
    )
    if review is None:
        raise AlreadyReviewed()
    await forget_trust(session, cache, order.supplier_id)
    await emit(
        session,
        ReviewCreated(
            review_id=review.id,
            **order_parties(order),
            rating=review.rating,
        ),
    )
    return ReviewDetail(
        id=review.id,
        supplier_id=review.supplier_id,
        rating=review.rating,
        comment=review.comment,
        buyer_country=actor.company.country,
        created_at=review.created_at,
        order_id=review.order_id,
        buyer_id=review.buyer_id,
    )


async def list_reviews(
    session: AsyncSession, supplier_id: uuid.UUID, *, limit: int, cursor: str | None
) -> Page[ReviewRead]:
    if await companies.get_company(session, supplier_id) is None:
        raise CompanyNotFound()
    after = decode_time_keyset(cursor)
    rows = await repository.list_for_supplier(session, supplier_id, after=after, limit=limit + 1)
    items = [
        ReviewRead(
            id=review.id,
            supplier_id=review.supplier_id,
            rating=review.rating,
            comment=review.comment,
            buyer_country=country,
            created_at=review.created_at,
        )
        for review, country in rows[:limit]
    ]
    return page_of(rows, limit, items, key=lambda row: by_created(row[0]))


def _rounded(value: Decimal, places: str) -> float:
    return float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


async def trust_signals(
    session: AsyncSession,
    cache: Cache,
    company_kind: str,
    supplier_id: uuid.UUID,
    reply_delays: repository.ReplyDelays,
) -> TrustSignals | None:
    """The supplier's trust signals; None for a company that does not sell. What the
    companies domain shows on a profile (`companies.ports.TrustSignalsSource`)."""
    if company_kind not in SUPPLIER_KINDS:
        return None
    key = trust_key(supplier_id)
    cached = await caching.read(cache, key)
    if cached is not None:
        return TrustSignals.model_validate_json(cached)
    signals = _signals(await repository.trust_figures(session, supplier_id, reply_delays))
    await caching.store(cache, key, signals.model_dump_json().encode(), TRUST_TTL_SECONDS)
    return signals


def _signals(figures: repository.TrustFigures) -> TrustSignals:
    on_time_rate = None
    if figures.delivered_order_count:
        on_time_rate = _rounded(
            Decimal(figures.on_time_order_count) / Decimal(figures.delivered_order_count),
            "0.0001",
        )
    return TrustSignals(
        rating_average=(
            _rounded(figures.rating_average, "0.01") if figures.rating_average is not None else None
        ),
        review_count=figures.review_count,
        on_time_delivery_rate=on_time_rate,
        delivered_order_count=figures.delivered_order_count,
        rfq_response_median_seconds=(
            round(figures.rfq_response_median_seconds)
            if figures.rfq_response_median_seconds is not None
            else None
        ),
        rfq_response_count=figures.rfq_response_count,
        message_response_median_seconds=(
            round(figures.message_response_median_seconds)
            if figures.message_response_median_seconds is not None
            else None
        ),
        message_response_count=figures.message_response_count,
    )
