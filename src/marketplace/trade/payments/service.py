"""Payments of orders: the supplier records them (and reverses one recorded by mistake
or refunded), the order's payment status follows, and a scheduled job flags orders past
their due date.

Recording a payment locks the order row, checks who and what, then adds the amount
with one conditional update (never above the total), all in the request's
transaction with its events: concurrent payments serialise and none is lost.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import Actor, Viewer
from marketplace.core.events import emit
from marketplace.core.pagination import (
    Page,
    decode_time_keyset,
)
from marketplace.core.platform import Platform
from marketplace.core.repository import page_of
from marketplace.core.tenancy import sides
from marketplace.trade.events import (
    OrderOverdue,
    OrderPaid,
    OrderPaymentRecorded,
    OrderPaymentReversed,
    order_parties,
)
from marketplace.trade.models import Order, Payment
from marketplace.trade.orders import repository as orders
from marketplace.trade.orders.errors import OrderNotFound
from marketplace.trade.orders.service import order_reads
from marketplace.trade.payments import repository
from marketplace.trade.payments.errors import (
    NotTheSupplier,
    OrderNotPayable,
    Overpayment,
    PaymentAlreadyReversed,
    PaymentDateInFuture,
    PaymentNotFound,
)
from marketplace.trade.payments.schemas import (
    PaymentCreate,
    PaymentRead,
    PaymentRecorded,
    PaymentReversal,
)

OVERDUE_BATCH = 500


def _today() -> date:
    return datetime.now(UTC).date()


def _read(payment: Payment, order: Order) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount,
        currency=order.currency,
        paid_on=payment.paid_on,
        method=payment.method,
        reference=payment.reference,
        recorded_by_user_id=payment.recorded_by_user_id,
        created_at=payment.created_at,
        reversed_at=payment.reversed_at,
        reversed_by_user_id=payment.reversed_by_user_id,
        reversal_reason=payment.reversal_reason,
    )


async def _suppliers_order(session: AsyncSession, actor: Actor, order_id: uuid.UUID) -> Order:
    """The order, locked: its payments change one at a time. 404 unless the acting
    company is a party to it; 403 for the buyer (only the supplier records payments)."""
    order = await orders.get_order_for(session, actor, order_id, lock=True)
    if order is None:
        raise OrderNotFound()
    if "supplier_id" not in sides(order, actor):
        raise NotTheSupplier()
    return order


async def record_payment(
    session: AsyncSession, actor: Actor, order_id: uuid.UUID, body: PaymentCreate
) -> PaymentRecorded:
    # Tomorrow in UTC is allowed: somewhere on earth it is already tomorrow.
    if body.paid_on > _today() + timedelta(days=1):
        raise PaymentDateInFuture(
            errors=[
                {
                    "loc": ["body", "paid_on"],
                    "msg": "the payment date is in the future",
                    "type": "date_in_future",
                }
            ]
        )
    order = await _suppliers_order(session, actor, order_id)
    if order.status in repository.UNPAYABLE_STATUSES:
        raise OrderNotPayable(status=order.status)
    updated = await repository.add_payment_to_order(session, actor, order.id, body.amount)
    if updated is None:
        raise Overpayment(due=order.total - order.amount_paid, currency=order.currency)
    amount_paid, payment_status = updated
    payment = Payment(
        id=uuid.uuid4(),
        order_id=order.id,
        amount=body.amount,
        paid_on=body.paid_on,
        method=body.method.value,
        reference=body.reference,
        recorded_by_user_id=actor.user_id,
        # Python's clock, not now(): payments recorded in one transaction stay ordered.
        created_at=datetime.now(UTC),
    )
    await repository.add(session, payment)
    parties = order_parties(order)
    await emit(
        session,
        OrderPaymentRecorded(
            **parties,
            payment_id=payment.id,
            amount=payment.amount,
            currency=order.currency,
            paid_on=payment.paid_on,
            method=payment.method,
            amount_paid=amount_paid,
            total=order.total,
            payment_status=payment_status,
        ),
    )
    # The update refuses any amount on a paid order, so this is the payment that paid it.
    if payment_status == "paid":
        await emit(
            session,
            OrderPaid(**parties, currency=order.currency, total=order.total, paid_on=body.paid_on),
        )
    await session.refresh(order)
    return PaymentRecorded(
        payment=_read(payment, order), order=(await order_reads(session, [order]))[0]
    )


async def reverse_payment(
    session: AsyncSession,
    actor: Actor,
    order_id: uuid.UUID,
    payment_id: uuid.UUID,
    body: PaymentReversal,
) -> PaymentRecorded:
    """The supplier takes back a payment it recorded: it stays listed, marked reversed,
    and no longer counts; the order is partially paid or unpaid again (and flagged
    overdue again by the job if past due). Under the order's lock, so concurrent
    reversals and payments serialise: a payment is reversed once."""
    order = await _suppliers_order(session, actor, order_id)
    payment = await repository.reverse(
        session,
        order.id,
        payment_id,
        by_user_id=actor.user_id,
        reason=body.reason,
        at=datetime.now(UTC),
    )
    if payment is None:
        if await repository.get(session, order.id, payment_id) is None:
            raise PaymentNotFound()
        raise PaymentAlreadyReversed()
    amount_paid, payment_status = await repository.take_payment_from_order(
        session, actor, order.id, payment.amount
    )
    await emit(
        session,
        OrderPaymentReversed(
            **order_parties(order),
            payment_id=payment.id,
            amount=payment.amount,
            currency=order.currency,
            reason=body.reason,
            amount_paid=amount_paid,
            total=order.total,
            payment_status=payment_status,
        ),
    )
    await session.refresh(order)
    return PaymentRecorded(
        payment=_read(payment, order), order=(await order_reads(session, [order]))[0]
    )


async def list_payments(
    session: AsyncSession,
    viewer: Viewer,
    order_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
) -> Page[PaymentRead]:
    """The order's payments, oldest first (buyer, supplier, staff)."""
    order = await orders.get_order_for(session, viewer, order_id)
    if order is None:
        raise OrderNotFound()
    after = decode_time_keyset(cursor)
    rows = await repository.list_payments(session, order.id, after=after, limit=limit + 1)
    return page_of(rows, limit, lambda payment: _read(payment, order))


async def flag_overdue_orders(session: AsyncSession, platform: Platform) -> int:
    """Scheduled: orders past their due date and not fully paid are flagged overdue and
    `order.overdue` is emitted, once per order; paid or closed orders lose the flag."""
    flagged = await repository.flag_overdue(session, _today(), OVERDUE_BATCH)
    for order in flagged:
        assert order.due_date is not None
        await emit(
            session,
            OrderOverdue(
                **order_parties(order),
                currency=order.currency,
                total=order.total,
                amount_paid=order.amount_paid,
                due_date=order.due_date,
            ),
        )
    cleared = await repository.clear_overdue(session)
    return len(flagged) + cleared
