"""Every query of payments and of the orders' payment state."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from marketplace.core.access import Actor
from marketplace.core.repository import add as add
from marketplace.core.repository import keyset
from marketplace.core.tenancy import changeable, unscoped
from marketplace.trade.models import Order, Payment

# Orders that can no longer be owed anything.
CLOSED_STATUSES = ("cancelled", "rejected")
# Orders that cannot be paid (yet): awaiting the buyer's approval, or closed.
UNPAYABLE_STATUSES = ("pending_approval", *CLOSED_STATUSES)


async def add_payment_to_order(
    session: AsyncSession, actor: Actor, order_id: uuid.UUID, amount: Decimal
) -> tuple[Decimal, str] | None:
    """Add `amount` to what the order has been paid, unless that would exceed its total
    (None then). One conditional update: concurrent payments serialise on the row and
    none is lost. Paying in full clears the overdue flag at once."""
    paid = Order.amount_paid + amount
    fully_paid = paid >= Order.total
    row = (
        await session.execute(
            changeable(update(Order), Order, actor)
            .where(
                Order.id == order_id,
                paid <= Order.total,
                Order.status.not_in(UNPAYABLE_STATUSES),
            )
            .values(
                amount_paid=paid,
                payment_status=case((fully_paid, "paid"), else_="partially_paid"),
                is_overdue=case((fully_paid, false()), else_=Order.is_overdue),
            )
            .returning(Order.amount_paid, Order.payment_status)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def take_payment_from_order(
    session: AsyncSession, actor: Actor, order_id: uuid.UUID, amount: Decimal
) -> tuple[Decimal, str]:
    """Subtract a reversed payment from what the order has been paid (the caller holds
    the order's lock and the payment counted, so it never goes below zero)."""
    paid = Order.amount_paid - amount
    row = (
        await session.execute(
            changeable(update(Order), Order, actor)
            .where(Order.id == order_id)
            .values(
                amount_paid=paid,
                payment_status=case((paid == 0, "unpaid"), else_="partially_paid"),
            )
            .returning(Order.amount_paid, Order.payment_status)
            .execution_options(synchronize_session=False)
        )
    ).one()
    return row[0], row[1]


async def reverse(
    session: AsyncSession,
    order_id: uuid.UUID,
    payment_id: uuid.UUID,
    *,
    by_user_id: uuid.UUID | None,
    reason: str,
    at: datetime,
) -> Payment | None:
    """Mark the payment reversed unless it already is (None then, as for no payment)."""
    return (
        await session.execute(
            update(Payment)
            .where(
                Payment.id == payment_id,
                Payment.order_id == order_id,
                Payment.reversed_at.is_(None),
            )
            .values(reversed_at=at, reversed_by_user_id=by_user_id, reversal_reason=reason)
            .returning(Payment)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()


async def get(session: AsyncSession, order_id: uuid.UUID, payment_id: uuid.UUID) -> Payment | None:
    return (
        await session.execute(
            select(Payment).where(Payment.id == payment_id, Payment.order_id == order_id)
        )
    ).scalar_one_or_none()


async def list_payments(
    session: AsyncSession,
    order_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Payment]:
    statement = select(Payment).where(Payment.order_id == order_id)
    statement = keyset(statement, (Payment.created_at, Payment.id), after, limit, descending=False)
    return list((await session.execute(statement)).scalars())


def _owed_past_due(today: date) -> ColumnElement[bool]:
    # The predicates of the partial index ix_orders_unpaid_due, plus what is not yet payable.
    return and_(
        Order.due_date < today,
        Order.payment_status != "paid",
        Order.status.not_in(CLOSED_STATUSES),
        Order.status != "pending_approval",
    )


async def flag_overdue(session: AsyncSession, today: date, batch: int) -> list[Order]:
    """Mark unflagged orders past their due date as overdue; the ones flagged now are
    returned (each only once: the flag stays until the order is paid or closed). Rows
    being paid right now are skipped, not waited for: the next run sees them."""
    candidates = (
        unscoped(select(Order.id), reason="the overdue job looks at every company's orders")
        .where(_owed_past_due(today), Order.is_overdue.is_(false()))
        .order_by(Order.due_date, Order.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await session.execute(
        unscoped(update(Order), reason="the overdue job, on the candidates above")
        .where(Order.id.in_(candidates))
        .values(is_overdue=True)
        .returning(Order)
        .execution_options(synchronize_session=False)
    )
    return list(rows.scalars())


def clear_overdue_statement() -> ReturningUpdate[uuid.UUID]:
    """Flagged orders that are now paid or closed lose the flag (read through the
    partial index ix_orders_overdue: only flagged orders are visited)."""
    return (
        unscoped(update(Order), reason="the overdue job, on every company's flagged orders")
        .where(
            # As the index's predicate is written: `IS TRUE` would not match it.
            Order.is_overdue,
            or_(Order.payment_status == "paid", Order.status.in_(CLOSED_STATUSES)),
        )
        .values(is_overdue=False)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )


async def clear_overdue(session: AsyncSession) -> int:
    """Take the flag off orders that are paid or closed."""
    result = await session.execute(clear_overdue_statement())
    return len(result.all())
