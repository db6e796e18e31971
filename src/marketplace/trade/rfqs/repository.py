"""Every query of RFQs and quotes. Suppliers reach RFQs only through
`rfqs_visible_to_supplier`; quotes are always filtered by their supplier or by the
RFQ's buyer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Category, Product
from marketplace.trade.models import (
    Order,
    OrderLine,
    Quote,
    QuoteItem,
    Rfq,
    RfqInvitation,
    RfqItem,
)


async def add_all(session: AsyncSession, rows: list[object]) -> None:
    session.add_all(rows)
    await session.flush()


def rfqs_visible_to_supplier(supplier_id: uuid.UUID) -> Select[Rfq]:
    """Open or closed-for-quoting RFQs a supplier may see: the ones it was invited to,
    and public ones in a category it sells in (or without a category)."""
    invited = exists().where(
        RfqInvitation.rfq_id == Rfq.id, RfqInvitation.supplier_id == supplier_id
    )
    rfq_category = Category.__table__.alias("rfq_category")
    product_category = Category.__table__.alias("product_category")
    sells_in_category = exists().where(
        Product.supplier_id == supplier_id,
        Product.status == "active",
        Product.category_id == product_category.c.id,
        rfq_category.c.id == Rfq.category_id,
        or_(
            product_category.c.path == rfq_category.c.path,
            product_category.c.path.startswith(rfq_category.c.path + "/"),
        ),
    )
    public = and_(Rfq.visibility == "public", or_(Rfq.category_id.is_(None), sells_in_category))
    return select(Rfq).where(
        Rfq.status != "draft", Rfq.buyer_id != supplier_id, or_(invited, public)
    )


async def get_rfq(session: AsyncSession, rfq_id: uuid.UUID, *, lock: bool = False) -> Rfq | None:
    statement = select(Rfq).where(Rfq.id == rfq_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_rfq_for_supplier(
    session: AsyncSession, rfq_id: uuid.UUID, supplier_id: uuid.UUID
) -> Rfq | None:
    statement = rfqs_visible_to_supplier(supplier_id).where(Rfq.id == rfq_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_buyer_rfqs(
    session: AsyncSession, buyer_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Rfq]:
    statement = select(Rfq).where(Rfq.buyer_id == buyer_id)
    return await _page(session, statement, after, limit)


async def list_supplier_rfqs(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Rfq]:
    return await _page(session, rfqs_visible_to_supplier(supplier_id), after, limit)


async def _page(
    session: AsyncSession,
    statement: Select[Rfq],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Rfq]:
    if after is not None:
        created_at, rfq_id = after
        statement = statement.where(
            or_(Rfq.created_at < created_at, and_(Rfq.created_at == created_at, Rfq.id < rfq_id))
        )
    statement = statement.order_by(Rfq.created_at.desc(), Rfq.id.desc()).limit(limit)
    return list((await session.execute(statement)).scalars())


async def items_of(
    session: AsyncSession, rfq_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[RfqItem]]:
    result: dict[uuid.UUID, list[RfqItem]] = {rfq_id: [] for rfq_id in rfq_ids}
    rows = await session.execute(
        select(RfqItem).where(RfqItem.rfq_id.in_(rfq_ids)).order_by(RfqItem.position)
    )
    for item in rows.scalars():
        result[item.rfq_id].append(item)
    return result


async def invited_suppliers(session: AsyncSession, rfq_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(RfqInvitation.supplier_id).where(RfqInvitation.rfq_id == rfq_id)
    )
    return [row[0] for row in rows]


async def category_id_by_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    return await session.scalar(select(Category.id).where(Category.slug == slug))


async def set_rfq_status(
    session: AsyncSession,
    rfq_id: uuid.UUID,
    sources: tuple[str, ...],
    target: str,
    **values: object,
) -> bool:
    moved = await session.scalar(
        update(Rfq)
        .where(Rfq.id == rfq_id, Rfq.status.in_(sources))
        .values(status=target, **values)
        .returning(Rfq.id)
        .execution_options(synchronize_session=False)
    )
    return moved is not None


async def expire_due_rfqs(session: AsyncSession, now: datetime) -> list[Rfq]:
    rows = await session.execute(
        update(Rfq)
        .where(
            Rfq.status == "open",
            Rfq.deadline <= now,
            ~exists().where(
                Quote.rfq_id == Rfq.id, Quote.status == "submitted", Quote.valid_until > now
            ),
        )
        .values(status="expired", closed_at=now)
        .returning(Rfq)
        .execution_options(synchronize_session=False)
    )
    return list(rows.scalars())


async def expire_due_quotes(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        update(Quote)
        .where(Quote.status == "submitted", Quote.valid_until <= now)
        .values(status="expired")
        .returning(Quote.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def live_quote_of(
    session: AsyncSession, rfq_id: uuid.UUID, supplier_id: uuid.UUID, *, lock: bool = False
) -> Quote | None:
    statement = select(Quote).where(
        Quote.rfq_id == rfq_id, Quote.supplier_id == supplier_id, Quote.status == "submitted"
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def quotes_of_rfq(
    session: AsyncSession, rfq_id: uuid.UUID, supplier_id: uuid.UUID | None = None
) -> list[Quote]:
    statement = select(Quote).where(Quote.rfq_id == rfq_id)
    if supplier_id is not None:
        statement = statement.where(Quote.supplier_id == supplier_id)
    return list((await session.execute(statement.order_by(Quote.submitted_at, Quote.id))).scalars())


async def quote_items_of(
    session: AsyncSession, quote_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[QuoteItem]]:
    result: dict[uuid.UUID, list[QuoteItem]] = {quote_id: [] for quote_id in quote_ids}
    rows = await session.execute(select(QuoteItem).where(QuoteItem.quote_id.in_(quote_ids)))
    for item in rows.scalars():
        result[item.quote_id].append(item)
    return result


async def replace_quote_items(
    session: AsyncSession, quote_id: uuid.UUID, items: list[QuoteItem]
) -> None:
    await session.execute(delete(QuoteItem).where(QuoteItem.quote_id == quote_id))
    session.add_all(items)
    await session.flush()


async def settle_quotes(session: AsyncSession, rfq_id: uuid.UUID, accepted: set[uuid.UUID]) -> None:
    """Accepted quotes win; every other live quote of the RFQ is rejected."""
    await session.execute(
        update(Quote)
        .where(Quote.rfq_id == rfq_id, Quote.id.in_(accepted))
        .values(status="accepted")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Quote)
        .where(Quote.rfq_id == rfq_id, Quote.status == "submitted", Quote.id.not_in(accepted))
        .values(status="rejected")
        .execution_options(synchronize_session=False)
    )


async def get_quote(session: AsyncSession, quote_id: uuid.UUID) -> Quote | None:
    return (await session.execute(select(Quote).where(Quote.id == quote_id))).scalar_one_or_none()


@dataclass(frozen=True)
class ItemAward:
    """Which quote won an RFQ item, and whether the order the award made has reached
    its supplier (False while it waits for the buyer's approval, or was declined then)."""

    quote_id: uuid.UUID
    supplier_id: uuid.UUID
    order_id: uuid.UUID
    released: bool


async def awards_of(session: AsyncSession, rfq_ids: list[uuid.UUID]) -> dict[uuid.UUID, ItemAward]:
    """The award of each awarded item of the RFQs, by RFQ item id: the accepted quote of
    the supplier whose order (made by the award) holds the item's line."""
    if not rfq_ids:
        return {}
    rows = await session.execute(
        select(
            OrderLine.rfq_item_id,
            Quote.id,
            Order.supplier_id,
            Order.id,
            Order.released_to_supplier_at.is_not(None),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(
            Quote,
            and_(
                Quote.rfq_id == Order.rfq_id,
                Quote.supplier_id == Order.supplier_id,
                Quote.status == "accepted",
            ),
        )
        .where(Order.rfq_id.in_(rfq_ids), OrderLine.rfq_item_id.is_not(None))
    )
    return {
        item_id: ItemAward(quote_id, supplier_id, order_id, bool(released))
        for item_id, quote_id, supplier_id, order_id, released in rows
        if item_id is not None
    }
