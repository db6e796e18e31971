"""Every query of orders, carts and purchasing policies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg
from sqlalchemy import Select, String, Uuid, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import Actor
from marketplace.core.driver import DriverStatement, insert_rows
from marketplace.core.outbox import OutboxEvent
from marketplace.core.repository import keyset
from marketplace.core.tenancy import Who, changeable, readable, unscoped
from marketplace.trade.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderTransition,
    PurchasingPolicy,
    Review,
    Rfq,
)

_NEXT_IN_SEQUENCE = DriverStatement(
    select(func.nextval(func.to_regclass(bindparam("name", type_=String))))
)


async def next_order_number(session: AsyncSession, year: int) -> str:
    """ORD-<year>-<6 digits> from a per-year sequence: unique without a hot lock row
    (a rolled-back order leaves a gap, which is fine for numbering)."""
    sequence = f"order_number_{year}"
    # One round trip and no savepoint: to_regclass() is NULL while the sequence does not
    # exist (or its creator has not committed yet), and nextval(NULL) is NULL, not an error.
    value = await _NEXT_IN_SEQUENCE.fetchval(session, name=sequence)
    if value is None:  # the year's first order: create its sequence
        # In this transaction, never on a second connection: under load every request
        # would hold one connection while waiting for another, and the pool would run
        # dry. CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE; the lock
        # makes the year's other first orders wait until this one commits or rolls back.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": sequence}
        )
        await session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {sequence}"))
        value = await session.scalar(text(f"SELECT nextval('{sequence}')"))
    return f"ORD-{year}-{int(value or 0):06d}"


async def add_all(session: AsyncSession, rows: list[object]) -> None:
    """Insert new rows (parents first). Through the driver: an order's rows are the
    hot path of placement, and nothing changes them later in the request."""
    await insert_rows(session, rows)


async def add_placed_order(
    session: AsyncSession,
    order: Order,
    lines: Sequence[OrderLine],
    placing: OrderTransition,
    announcement: OutboxEvent,
) -> None:
    """A new order, its lines and its first history step, with the outbox row of its
    `order.placed` event (`core.events.emit(..., write=...)`): one statement, one round
    trip, which order placement is measured by (tests/trade/test_statements_per_order.py)."""
    await insert_rows(session, [order, *lines, placing, announcement])


def orders_of(who: Who) -> Select[Order]:
    """The orders `who` may read: the tenancy gate (`Order.__tenancy__`: the buyer's,
    and the supplier's once released to it; another company's is simply not found)."""
    return readable(select(Order), Order, who)


async def get_order_for(
    session: AsyncSession, who: Who, order_id: uuid.UUID, *, lock: bool = False
) -> Order | None:
    statement = orders_of(who).where(Order.id == order_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_orders(
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    side: str | None,
    status: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Order]:
    statement = orders_of(company_id)
    if side == "buying":
        statement = statement.where(Order.buyer_id == company_id)
    elif side == "selling":
        statement = statement.where(Order.supplier_id == company_id)
    if status is not None:
        statement = statement.where(Order.status == status)
    statement = keyset(statement, (Order.created_at, Order.id), after, limit)
    return list((await session.execute(statement)).scalars())


async def lines_of(
    session: AsyncSession, order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[OrderLine]]:
    result: dict[uuid.UUID, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    rows = await session.execute(
        select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.position)
    )
    for line in rows.scalars():
        result[line.order_id].append(line)
    return result


async def history_of(
    session: AsyncSession, order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[OrderTransition]]:
    result: dict[uuid.UUID, list[OrderTransition]] = {order_id: [] for order_id in order_ids}
    rows = await session.execute(
        select(OrderTransition)
        .where(OrderTransition.order_id.in_(order_ids))
        .order_by(OrderTransition.created_at, OrderTransition.id)
    )
    for transition in rows.scalars():
        result[transition.order_id].append(transition)
    return result


async def move_status(
    session: AsyncSession,
    actor: Actor,
    order_id: uuid.UUID,
    sources: frozenset[str],
    target: str,
    **values: object,
) -> bool:
    """Conditional update: only one concurrent transition out of a status can win."""
    moved = await session.scalar(
        changeable(update(Order), Order, actor)
        .where(Order.id == order_id, Order.status.in_(sources))
        .values(status=target, **values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return moved is not None


async def reserved_quantities(
    session: AsyncSession, order_id: uuid.UUID
) -> dict[uuid.UUID, Decimal]:
    rows = await session.execute(
        select(OrderLine.product_id, OrderLine.reserved_quantity).where(
            OrderLine.order_id == order_id, OrderLine.reserved_quantity > 0
        )
    )
    totals: dict[uuid.UUID, Decimal] = {}
    for product_id, quantity in rows:
        if product_id is not None:
            totals[product_id] = totals.get(product_id, Decimal(0)) + quantity
    return totals


async def zero_reservations(session: AsyncSession, order_id: uuid.UUID) -> None:
    await session.execute(
        update(OrderLine)
        .where(OrderLine.order_id == order_id)
        .values(reserved_quantity=0)
        .execution_options(synchronize_session=False)
    )


# Orders that never were, or are not yet, money spent: awaiting approval, or closed
# without a sale.
_NOT_SPENT = ("pending_approval", "cancelled", "rejected")


async def spent_by_purchaser(
    session: AsyncSession,
    buyer_id: uuid.UUID,
    user_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> dict[str, Decimal]:
    """What the user's orders for the buyer placed in [since, until) came to, by
    currency, counting orders placed or approved (not awaiting approval, not closed
    without a sale). By `created_at`, the placing transaction's time, which the
    buyer's (buyer_id, created_at) index covers."""
    rows = await session.execute(
        readable(select(Order.currency, func.sum(Order.total)), Order, buyer_id)
        .where(
            Order.buyer_id == buyer_id,
            Order.created_at >= since,
            Order.created_at < until,
            Order.placed_by_user_id == user_id,
            Order.status.not_in(_NOT_SPENT),
        )
        .group_by(Order.currency)
    )
    return dict(rows.all())


async def policy_of(session: AsyncSession, company_id: uuid.UUID) -> PurchasingPolicy | None:
    return await session.get(PurchasingPolicy, company_id)


async def set_policy(
    session: AsyncSession, company_id: uuid.UUID, threshold: Decimal | None
) -> None:
    await session.execute(
        insert(PurchasingPolicy)
        .values(company_id=company_id, approval_threshold=threshold)
        .on_conflict_do_update(
            index_elements=["company_id"],
            set_={"approval_threshold": threshold, "updated_at": text("now()")},
        )
    )


# Carts on the driver (core/driver.py): every cart change and the checkout read the
# cart and its lines, and answer with the whole cart; through the ORM each of these
# statements cost more CPU than the database's work (bench/README.md).
_USER_ID = bindparam("user_id", type_=Uuid)
_BUYER_ID = bindparam("buyer_id", type_=Uuid)
_CART_ID = bindparam("cart_id", type_=Uuid)
_PRODUCT_ID = bindparam("product_id", type_=Uuid)
_THE_CART = (Cart.user_id == _USER_ID, Cart.buyer_id == _BUYER_ID)
_CART = DriverStatement(select(Cart.id).where(*_THE_CART))
_created_cart = (
    insert(Cart)
    .values(id=bindparam("id", type_=Uuid), user_id=_USER_ID, buyer_id=_BUYER_ID)
    .on_conflict_do_nothing(index_elements=["user_id", "buyer_id"])
    .returning(Cart.id)
    .cte("created")
)
_LINE_COLUMNS = (
    CartLine.id,
    CartLine.product_id,
    CartLine.quantity,
    CartLine.quoted_unit_price,
    CartLine.created_at,
)
_LINES = select(*_LINE_COLUMNS).order_by(CartLine.created_at, CartLine.id)
_CART_LINES = DriverStatement(_LINES.where(CartLine.cart_id == _CART_ID))
# Checkout: the lines of the user's cart, locked, with the cart's id, in one statement.
_CHECKOUT_LINES = DriverStatement(
    _LINES.add_columns(Cart.id.label("cart_id"))
    .join(Cart, Cart.id == CartLine.cart_id)
    .where(*_THE_CART)
    .with_for_update(of=CartLine)
)
# A cart change: the cart made or found, with its lines (none: one row of NULLs), in
# one statement. Its snapshot predates the insert, so a cart another transaction
# committed while the insert waited on it is in neither part: no row, and
# `made_cart_with_lines` reads it again.
_the_cart = (
    select(_created_cart.c.id.label("cart_id"))
    .union_all(select(Cart.id).where(*_THE_CART))
    .cte("the_cart")
)
_MADE_CART_WITH_LINES = DriverStatement(
    select(_the_cart.c.cart_id, *_LINE_COLUMNS)
    .select_from(_the_cart.outerjoin(CartLine, CartLine.cart_id == _the_cart.c.cart_id))
    .order_by(CartLine.created_at, CartLine.id)
)
_UPSERT_LINE = DriverStatement(
    insert(CartLine)
    .values(
        id=bindparam("id", type_=Uuid),
        cart_id=_CART_ID,
        product_id=_PRODUCT_ID,
        quantity=bindparam("quantity", type_=CartLine.__table__.c.quantity.type),
        quoted_unit_price=bindparam(
            "unit_price", type_=CartLine.__table__.c.quoted_unit_price.type
        ),
    )
    .on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={
            "quantity": bindparam("quantity", type_=CartLine.__table__.c.quantity.type),
            "quoted_unit_price": bindparam(
                "unit_price", type_=CartLine.__table__.c.quoted_unit_price.type
            ),
            "updated_at": func.now(),
        },
    )
    .returning(*_LINE_COLUMNS)
)


@dataclass(frozen=True)
class CartLineRow:
    """A cart line as stored (or as just written)."""

    id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal
    quoted_unit_price: Decimal
    created_at: datetime

    @property
    def place(self) -> tuple[datetime, uuid.UUID]:
        """Where the line is shown: the order of `cart_lines`."""
        return (self.created_at, self.id)


def _line(row: asyncpg.Record) -> CartLineRow:
    return CartLineRow(
        row["id"], row["product_id"], row["quantity"], row["quoted_unit_price"], row["created_at"]
    )


async def cart_of(
    session: AsyncSession, user_id: uuid.UUID, buyer_id: uuid.UUID
) -> uuid.UUID | None:
    """The id of the user's cart for the buyer, if there is one."""
    return await _CART.fetchval(session, user_id=user_id, buyer_id=buyer_id)  # type: ignore[no-any-return]


async def made_cart_with_lines(
    session: AsyncSession, user_id: uuid.UUID, buyer_id: uuid.UUID
) -> tuple[uuid.UUID, list[CartLineRow]]:
    """The user's cart for the buyer, made if there is none, and its lines, oldest
    first: one statement (three when another transaction made the cart meanwhile)."""
    rows = await _MADE_CART_WITH_LINES.fetch(
        session, id=uuid.uuid4(), user_id=user_id, buyer_id=buyer_id
    )
    if not rows:
        cart_id = await cart_of(session, user_id, buyer_id)
        assert cart_id is not None  # committed by the transaction the insert waited for
        return cart_id, await cart_lines(session, cart_id)
    return rows[0]["cart_id"], [_line(row) for row in rows if row["id"] is not None]


async def cart_lines(session: AsyncSession, cart_id: uuid.UUID) -> list[CartLineRow]:
    """The cart's lines, oldest first."""
    return [_line(row) for row in await _CART_LINES.fetch(session, cart_id=cart_id)]


async def lines_to_check_out(
    session: AsyncSession, user_id: uuid.UUID, buyer_id: uuid.UUID
) -> tuple[uuid.UUID | None, list[CartLineRow]]:
    """The user's cart for the buyer and its lines, oldest first, locked until the
    transaction ends (a concurrent change or checkout of the cart waits)."""
    rows = await _CHECKOUT_LINES.fetch(session, user_id=user_id, buyer_id=buyer_id)
    return (rows[0]["cart_id"] if rows else None), [_line(row) for row in rows]


async def upsert_cart_line(
    session: AsyncSession,
    cart_id: uuid.UUID,
    product_id: uuid.UUID,
    quantity: Decimal,
    unit_price: Decimal,
) -> CartLineRow:
    """Add the line, or set its quantity and price: the line as stored."""
    row = await _UPSERT_LINE.fetchrow(
        session,
        id=uuid.uuid4(),
        cart_id=cart_id,
        product_id=product_id,
        quantity=quantity,
        unit_price=unit_price,
    )
    assert row is not None  # an upsert that updates returns its row too
    return _line(row)


async def set_quoted_price(session: AsyncSession, line_id: uuid.UUID, unit_price: Decimal) -> None:
    await session.execute(
        update(CartLine)
        .where(CartLine.id == line_id)
        .values(quoted_unit_price=unit_price)
        .execution_options(synchronize_session=False)
    )


async def delete_cart_lines(
    session: AsyncSession, cart_id: uuid.UUID, product_id: uuid.UUID | None = None
) -> int:
    statement = delete(CartLine).where(CartLine.cart_id == cart_id)
    if product_id is not None:
        statement = statement.where(CartLine.product_id == product_id)
    result = await session.execute(statement.returning(CartLine.id))
    return len(result.all())


async def rfq_title(session: AsyncSession, rfq_id: uuid.UUID) -> str:
    """The title of the RFQ an order was awarded from (named in the award's events)."""
    statement = unscoped(
        select(Rfq.title), reason="the order that names the RFQ was changed through the gate"
    )
    return str(await session.scalar(statement.where(Rfq.id == rfq_id)))


async def reviewed_orders(session: AsyncSession, order_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the orders their buyer has reviewed."""
    if not order_ids:
        return set()
    rows = await session.execute(select(Review.order_id).where(Review.order_id.in_(order_ids)))
    return {row[0] for row in rows}
