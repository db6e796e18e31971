"""Every query of RFQs and quotes, through the tenancy gate (`core.tenancy`): an RFQ
is its buyer's, disclosed to suppliers it is visible to (`rfqs_readable`); a quote is
its supplier's, and readable by the RFQ's buyer (`_quotes_readable`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from marketplace.catalog.models import Product
from marketplace.core.access import Actor
from marketplace.core.repository import add_all as add_all
from marketplace.core.repository import flush as flush
from marketplace.core.repository import keyset
from marketplace.core.tenancy import changeable, company_of, readable, unscoped
from marketplace.trade.models import (
    Order,
    OrderLine,
    Quote,
    QuoteItem,
    Rfq,
    RfqInvitation,
    RfqItem,
)


def _visible_to_supplier(supplier_id: uuid.UUID) -> ColumnElement[bool]:
    """Open or closed-for-quoting RFQs a supplier may see although not its own: the ones
    it was invited to, and public ones in a category it sells in (or without one)."""
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
    return and_(Rfq.status != "draft", Rfq.buyer_id != supplier_id, or_(invited, public))


def _quoted_on_by(supplier_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(Quote.rfq_id == Rfq.id, Quote.supplier_id == supplier_id)


def rfqs_readable(who: Actor | uuid.UUID, *, quoted: bool = False) -> Select[Rfq]:
    """The tenancy gate of RFQs: the buyer's own, and what is disclosed to a supplier
    (visible to it; with `quoted`, also any it quoted on)."""
    company_id = company_of(who)
    assert company_id is not None
    shared = _visible_to_supplier(company_id)
    if quoted:
        shared = or_(shared, _quoted_on_by(company_id))
    return readable(select(Rfq), Rfq, who, shared=shared)


async def readable_rfq(
    session: AsyncSession, who: Actor | uuid.UUID, rfq_id: uuid.UUID, *, quoted: bool = False
) -> Rfq | None:
    """The RFQ if `who` may read it (None for any other: a 404, never a 403)."""
    statement = rfqs_readable(who, quoted=quoted).where(Rfq.id == rfq_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def buyers_rfq(
    session: AsyncSession, actor: Actor, rfq_id: uuid.UUID, *, lock: bool = False
) -> Rfq | None:
    """The RFQ if the actor's company is its buyer, the one that may change it."""
    statement = changeable(select(Rfq), Rfq, actor).where(Rfq.id == rfq_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_buyer_rfqs(
    session: AsyncSession, buyer_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Rfq]:
    statement = changeable(select(Rfq), Rfq, buyer_id)
    return await _page(session, statement, after, limit)


async def list_supplier_rfqs(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Rfq]:
    statement = rfqs_readable(supplier_id).where(Rfq.buyer_id != supplier_id)
    return await _page(session, statement, after, limit)


async def _page(
    session: AsyncSession,
    statement: Select[Rfq],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Rfq]:
    statement = keyset(statement, (Rfq.created_at, Rfq.id), after, limit)
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
    actor: Actor,
    rfq_id: uuid.UUID,
    sources: tuple[str, ...],
    target: str,
    **values: object,
) -> bool:
    moved = await session.scalar(
        changeable(update(Rfq), Rfq, actor)
        .where(Rfq.id == rfq_id, Rfq.status.in_(sources))
        .values(status=target, **values)
        .returning(Rfq.id)
        .execution_options(synchronize_session=False)
    )
    return moved is not None


async def expire_due_rfqs(session: AsyncSession, now: datetime) -> list[Rfq]:
    rows = await session.execute(
        unscoped(update(Rfq), reason="the expiry job closes every company's due RFQs")
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
        unscoped(update(Quote), reason="the expiry job closes every company's due quotes")
        .where(Quote.status == "submitted", Quote.valid_until <= now)
        .values(status="expired")
        .returning(Quote.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def live_quote_of(
    session: AsyncSession, rfq_id: uuid.UUID, actor: Actor, *, lock: bool = False
) -> Quote | None:
    """The acting supplier's live quote on the RFQ."""
    statement = changeable(select(Quote), Quote, actor).where(
        Quote.rfq_id == rfq_id, Quote.status == "submitted"
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


def _quotes_readable(who: Actor | uuid.UUID) -> Select[Quote]:
    """The tenancy gate of quotes: the supplier's own, and every quote on the buyer's
    RFQs."""
    on_own_rfqs = Quote.rfq_id.in_(changeable(select(Rfq.id), Rfq, who))
    return readable(select(Quote), Quote, who, shared=on_own_rfqs)


async def quotes_of_rfq(
    session: AsyncSession, who: Actor | uuid.UUID, rfq_id: uuid.UUID
) -> list[Quote]:
    """The quotes on the RFQ that `who` may read: all for its buyer, a supplier's own."""
    statement = _quotes_readable(who).where(Quote.rfq_id == rfq_id)
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
    await add_all(session, items)


async def settle_quotes(session: AsyncSession, rfq_id: uuid.UUID, accepted: set[uuid.UUID]) -> None:
    """Accepted quotes win; every other live quote of the RFQ is rejected."""
    reason = "the buyer's award settles every quote on its RFQ, which it locked through the gate"
    await session.execute(
        unscoped(update(Quote), reason=reason)
        .where(Quote.rfq_id == rfq_id, Quote.id.in_(accepted))
        .values(status="accepted")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        unscoped(update(Quote), reason=reason)
        .where(Quote.rfq_id == rfq_id, Quote.status == "submitted", Quote.id.not_in(accepted))
        .values(status="rejected")
        .execution_options(synchronize_session=False)
    )


async def readable_quote(
    session: AsyncSession, who: Actor | uuid.UUID, quote_id: uuid.UUID
) -> Quote | None:
    statement = _quotes_readable(who).where(Quote.id == quote_id)
    return (await session.execute(statement)).scalar_one_or_none()


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
    statement = unscoped(
        select(
            OrderLine.rfq_item_id,
            Quote.id,
            Order.supplier_id,
            Order.id,
            Order.released_to_supplier_at.is_not(None),
        ),
        reason="the RFQs were read through the gate; the service shows each award by side",
    )
    rows = await session.execute(
        statement.join(Order, Order.id == OrderLine.order_id)
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
