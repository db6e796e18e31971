"""Every query of reviews and of the supplier trust signals derived from trade data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Date, Subquery, cast, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.core.repository import keyset
from marketplace.core.tenancy import unscoped
from marketplace.trade.models import Order, Quote, Review, Rfq

# Seconds (`seconds`) a supplier took to answer each buyer's turn in its message
# threads: messaging's query, which sits above trade (its threads are about orders and
# RFQs), handed in by the application (app.py) rather than imported.
ReplyDelays = Callable[[uuid.UUID], Subquery]

# Orders whose delivery is known: the on-time rate is taken over these.
DELIVERED_STATUSES = ("delivered", "completed")


async def insert_review(
    session: AsyncSession,
    *,
    order: Order,
    author_user_id: uuid.UUID | None,
    rating: int,
    comment: str,
) -> Review | None:
    """The review, or None when the order already has one. The unique constraint on
    `order_id` decides between concurrent attempts: the loser waits for the winner's
    commit and then inserts nothing (never an IntegrityError, never a 500)."""
    review_id = await session.scalar(
        insert(Review)
        .values(
            id=uuid.uuid4(),
            order_id=order.id,
            buyer_id=order.buyer_id,
            supplier_id=order.supplier_id,
            author_user_id=author_user_id,
            rating=rating,
            comment=comment,
        )
        .on_conflict_do_nothing(index_elements=[Review.order_id])
        .returning(Review.id)
    )
    if review_id is None:
        return None
    return await session.get(Review, review_id)


async def list_for_supplier(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Review, str]]:
    """The supplier's reviews, newest first, each with its buyer's country."""
    statement = (
        select(Review, Company.country)
        .join(Company, Company.id == Review.buyer_id)
        .where(Review.supplier_id == supplier_id)
    )
    statement = keyset(statement, (Review.created_at, Review.id), after, limit)
    return [(review, country) for review, country in await session.execute(statement)]


@dataclass(frozen=True)
class TrustFigures:
    rating_average: Decimal | None
    review_count: int
    delivered_order_count: int
    on_time_order_count: int
    rfq_response_count: int
    rfq_response_median_seconds: float | None
    message_response_count: int
    message_response_median_seconds: float | None


# Trust signals are public: counts and medians over the supplier's side of its orders,
# quotes and threads; no row of any company is shown.
PUBLIC = "public trust signals: aggregates over the supplier's side, no row shown"


async def trust_figures(
    session: AsyncSession, supplier_id: uuid.UUID, reply_delays: ReplyDelays
) -> TrustFigures:
    """One round trip, four index-backed aggregates over the supplier's own rows:
    reviews (ix_reviews_supplier_id), delivered orders (ix_orders_supplier_created),
    first quotes per RFQ (ix_quotes_supplier_id) and replies to buyers' messages
    (`reply_delays`: messaging's query, by ix_messages_thread_created)."""
    ratings = (
        select(
            func.avg(Review.rating).label("rating_average"),
            func.count().label("review_count"),
        )
        .where(Review.supplier_id == supplier_id)
        .subquery("ratings")
    )
    # promised_by is a UTC calendar date (orders.service): compare the UTC delivery day.
    delivered_day = cast(func.timezone("UTC", Order.delivered_at), Date)
    deliveries = (
        unscoped(
            select(
                func.count().label("delivered_order_count"),
                func.count()
                .filter(delivered_day <= Order.promised_by)
                .label("on_time_order_count"),
            ),
            reason=PUBLIC,
        )
        .where(
            Order.supplier_id == supplier_id,
            Order.status.in_(DELIVERED_STATUSES),
            Order.delivered_at.is_not(None),
            Order.promised_by.is_not(None),
        )
        .subquery("deliveries")
    )
    # A supplier's response to an RFQ is its first quote: revisions keep the quote's
    # created_at (submitted_at moves with each revision), and a quote withdrawn and
    # sent again is a second row, so the earliest created_at per RFQ is the answer.
    # Quoting is possible only once an RFQ is published (invited suppliers included:
    # invitations are written with the draft), so the clock starts at published_at.
    first_quotes = (
        unscoped(
            select(
                func.greatest(
                    0, func.extract("epoch", func.min(Quote.created_at) - Rfq.published_at)
                ).label("seconds")
            ),
            reason=PUBLIC,
        )
        .select_from(Quote)
        .join(Rfq, Rfq.id == Quote.rfq_id)
        .where(Quote.supplier_id == supplier_id, Rfq.published_at.is_not(None))
        .group_by(Rfq.id, Rfq.published_at)
        .subquery("first_quotes")
    )
    responses = select(
        func.count().label("rfq_response_count"),
        func.percentile_cont(0.5)
        .within_group(first_quotes.c.seconds)
        .label("rfq_response_median_seconds"),
    ).subquery("responses")
    delays = reply_delays(supplier_id)
    replies = select(
        func.count().label("message_response_count"),
        func.percentile_cont(0.5)
        .within_group(delays.c.seconds)
        .label("message_response_median_seconds"),
    ).subquery("replies")
    row = (
        await session.execute(
            select(
                ratings.c.rating_average,
                ratings.c.review_count,
                deliveries.c.delivered_order_count,
                deliveries.c.on_time_order_count,
                responses.c.rfq_response_count,
                responses.c.rfq_response_median_seconds,
                replies.c.message_response_count,
                replies.c.message_response_median_seconds,
            ).select_from(
                ratings.join(deliveries, true()).join(responses, true()).join(replies, true())
            )
        )
    ).one()
    return TrustFigures(
        rating_average=row.rating_average,
        review_count=int(row.review_count),
        delivered_order_count=int(row.delivered_order_count),
        on_time_order_count=int(row.on_time_order_count),
        rfq_response_count=int(row.rfq_response_count),
        rfq_response_median_seconds=(
            float(row.rfq_response_median_seconds)
            if row.rfq_response_median_seconds is not None
            else None
        ),
        message_response_count=int(row.message_response_count),
        message_response_median_seconds=(
            float(row.message_response_median_seconds)
            if row.message_response_median_seconds is not None
            else None
        ),
    )
