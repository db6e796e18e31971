"""RFQs, quotes, the side-by-side comparison and the line-by-line award.

An award turns the chosen lines into one order per awarded supplier, at the quoted
prices and each quote's payment terms, through `place_orders` (same stock and
approval rules as checkout), in one transaction with the RFQ and quote updates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import stock
from marketplace.catalog.price_lists.service import CENT
from marketplace.companies import service as companies
from marketplace.core.access import Actor
from marketplace.core.cache import Cache
from marketplace.core.events import emit
from marketplace.core.pagination import Page, decode_time_keyset
from marketplace.core.platform import Platform
from marketplace.core.repository import page_of
from marketplace.core.tenancy import sides
from marketplace.trade.events import (
    QuoteSubmitted,
    QuoteWithdrawn,
    RfqAward,
    RfqAwarded,
    RfqPublished,
    RfqStatusChanged,
)
from marketplace.trade.models import Quote, QuoteItem, QuoteRevision, Rfq, RfqInvitation, RfqItem
from marketplace.trade.orders import service as orders
from marketplace.trade.orders.errors import NotABuyer, ProductsUnavailable
from marketplace.trade.rfqs import repository
from marketplace.trade.rfqs.errors import (
    InvalidAward,
    InvalidQuote,
    NotASupplier,
    QuoteNotFound,
    QuoteNotLive,
    RfqNotDraft,
    RfqNotFound,
    RfqNotOpen,
)
from marketplace.trade.rfqs.schemas import (
    AwardRequest,
    Comparison,
    ComparisonItem,
    ComparisonOffer,
    ComparisonSupplier,
    QuoteItemRead,
    QuoteRead,
    QuoteSubmit,
    RfqCreate,
    RfqItemRead,
    RfqRead,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _award_seen_by(
    viewer_id: uuid.UUID, rfq: Rfq, award: repository.ItemAward | None
) -> repository.ItemAward | None:
    """An item's award as the viewer may see it: the buyer sees every award; a supplier
    its own, once the order it made was released to it (the order's own rule)."""
    if award is None or viewer_id == rfq.buyer_id:
        return award
    return award if award.supplier_id == viewer_id and award.released else None


def _item_read(
    item: RfqItem, award: repository.ItemAward | None, names: dict[uuid.UUID, str]
) -> RfqItemRead:
    read = RfqItemRead.model_validate(item)
    if award is None:
        return read
    return read.model_copy(
        update={
            "awarded_quote_id": award.quote_id,
            "awarded_supplier_id": award.supplier_id,
            "awarded_supplier_name": names[award.supplier_id],
        }
    )


async def _describe(
    session: AsyncSession, viewer_id: uuid.UUID, rfqs: list[Rfq], *, buyer_view: bool
) -> list[RfqRead]:
    items = await repository.items_of(session, [rfq.id for rfq in rfqs])
    awards = await repository.awards_of(
        session, [rfq.id for rfq in rfqs if rfq.status == "awarded"]
    )
    names = await companies.display_names(
        session,
        {rfq.buyer_id for rfq in rfqs} | {award.supplier_id for award in awards.values()},
    )
    result = []
    for rfq in rfqs:
        invited = await repository.invited_suppliers(session, rfq.id) if buyer_view else None
        result.append(
            RfqRead(
                id=rfq.id,
                buyer_id=rfq.buyer_id,
                buyer_name=names[rfq.buyer_id],
                title=rfq.title,
                description=rfq.description,
                currency=rfq.currency,
                delivery_country=rfq.delivery_country,
                deadline=rfq.deadline,
                visibility=rfq.visibility,
                status=rfq.status,
                payment_terms=rfq.payment_terms,
                published_at=rfq.published_at,
                created_at=rfq.created_at,
                items=[
                    _item_read(item, _award_seen_by(viewer_id, rfq, awards.get(item.id)), names)
                    for item in items[rfq.id]
                ],
                invited_supplier_ids=invited,
            )
        )
    return result


async def create_rfq(session: AsyncSession, actor: Actor, body: RfqCreate) -> RfqRead:
    if actor.company.kind not in ("buyer", "both"):
        raise NotABuyer()
    category_id = None
    if body.category is not None:
        category_id = await repository.category_id_by_slug(session, body.category)
        if category_id is None:
            raise InvalidQuote(
                message="The category does not exist.",
                errors=[
                    {"loc": ["body", "category"], "msg": "unknown category", "type": "unknown"}
                ],
            )
    await _require_visible_products(session, actor, body)
    for supplier_id in body.invited_supplier_ids:
        company = await companies.get_company(session, supplier_id)
        if company is None or company.kind not in ("supplier", "both"):
            raise InvalidAward(
                errors=[
                    {
                        "loc": ["body", "invited_supplier_ids"],
                        "msg": f"{supplier_id} is not a supplier",
                        "type": "not_a_supplier",
                    }
                ]
            )
    rfq = Rfq(
        id=uuid.uuid4(),
        buyer_id=actor.company_id,
        created_by_user_id=actor.user_id,
        title=body.title,
        description=body.description,
        currency=body.currency,
        delivery_country=body.delivery_country,
        deadline=body.deadline,
        visibility=body.visibility,
        category_id=category_id,
        payment_terms=body.payment_terms.value,
        status="draft",
    )
    rows: list[object] = [rfq]
    rows += [
        RfqItem(
            id=uuid.uuid4(),
            rfq_id=rfq.id,
            position=position,
            product_id=item.product_id,
            description=item.description,
            quantity=item.quantity,
            unit=item.unit,
            target_unit_price=item.target_unit_price,
        )
        for position, item in enumerate(body.items, start=1)
    ]
    rows += [
        RfqInvitation(rfq_id=rfq.id, supplier_id=supplier)
        for supplier in set(body.invited_supplier_ids)
    ]
    await repository.add_all(session, rows)
    await session.refresh(rfq)
    return (await _describe(session, actor.company_id, [rfq], buyer_view=True))[0]


async def _require_visible_products(session: AsyncSession, actor: Actor, body: RfqCreate) -> None:
    """An item may name only a product the buyer can see in the catalog. An unknown id and
    another supplier's draft, archived or blocked product get the same answer, so that the
    answer never tells whether an id exists."""
    product_ids = [item.product_id for item in body.items if item.product_id is not None]
    visible = await stock.orderable_products(session, actor.company_id, product_ids)
    unavailable = [
        {
            "loc": ["body", "items", index, "product_id"],
            "msg": "unknown product, or not available to order",
            "type": "unavailable",
        }
        for index, item in enumerate(body.items)
        if item.product_id is not None and item.product_id not in visible
    ]
    if unavailable:
        raise ProductsUnavailable(errors=unavailable)


async def _buyer_rfq(
    session: AsyncSession, actor: Actor, rfq_id: uuid.UUID, *, lock: bool = False
) -> Rfq:
    rfq = await repository.buyers_rfq(session, actor, rfq_id, lock=lock)
    if rfq is None:
        raise RfqNotFound()
    return rfq


async def publish(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> RfqRead:
    rfq = await _buyer_rfq(session, actor, rfq_id, lock=True)
    if rfq.status != "draft":
        raise RfqNotDraft()
    if rfq.deadline <= _now():
        raise RfqNotOpen(status="past its deadline")
    await repository.set_rfq_status(session, actor, rfq.id, ("draft",), "open", published_at=_now())
    invited = await repository.invited_suppliers(session, rfq.id)
    await emit(
        session,
        RfqPublished(
            rfq_id=rfq.id,
            buyer_id=rfq.buyer_id,
            title=rfq.title,
            supplier_ids=invited,
            visibility=rfq.visibility,
            deadline=rfq.deadline.isoformat(),
        ),
    )
    await session.refresh(rfq)
    return (await _describe(session, actor.company_id, [rfq], buyer_view=True))[0]


async def cancel(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> RfqRead:
    rfq = await _buyer_rfq(session, actor, rfq_id, lock=True)
    if not await repository.set_rfq_status(
        session, actor, rfq.id, ("draft", "open"), "cancelled", closed_at=_now()
    ):
        raise RfqNotOpen(status=rfq.status)
    await emit(
        session,
        RfqStatusChanged(
            rfq_id=rfq.id,
            buyer_id=rfq.buyer_id,
            title=rfq.title,
            supplier_ids=[
                quote.supplier_id
                for quote in await repository.quotes_of_rfq(session, actor, rfq.id)
            ],
            status="cancelled",
        ),
    )
    await session.refresh(rfq)
    return (await _describe(session, actor.company_id, [rfq], buyer_view=True))[0]


async def get_rfq(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> RfqRead:
    rfq = await repository.readable_rfq(session, actor, rfq_id)
    if rfq is None:
        raise RfqNotFound()
    buyer_view = "buyer_id" in sides(rfq, actor)
    return (await _describe(session, actor.company_id, [rfq], buyer_view=buyer_view))[0]


async def list_rfqs(
    session: AsyncSession, actor: Actor, *, role: str, limit: int, cursor: str | None
) -> Page[RfqRead]:
    after = decode_time_keyset(cursor)
    if role == "buyer":
        rows = await repository.list_buyer_rfqs(session, actor.company_id, after, limit + 1)
    else:
        rows = await repository.list_supplier_rfqs(session, actor.company_id, after, limit + 1)
    items = await _describe(session, actor.company_id, rows[:limit], buyer_view=role == "buyer")
    return page_of(rows, limit, items)


async def _describe_quotes(session: AsyncSession, quotes: list[Quote], rfq: Rfq) -> list[QuoteRead]:
    items = await repository.quote_items_of(session, [quote.id for quote in quotes])
    quantities = {
        item.id: item.quantity for item in (await repository.items_of(session, [rfq.id]))[rfq.id]
    }
    names = await companies.display_names(session, {quote.supplier_id for quote in quotes})
    result = []
    for quote in quotes:
        lines = [
            QuoteItemRead(
                rfq_item_id=item.rfq_item_id,
                unit_price=item.unit_price,
                line_total=(item.unit_price * quantities[item.rfq_item_id]).quantize(CENT),
            )
            for item in items[quote.id]
        ]
        result.append(
            QuoteRead(
                id=quote.id,
                rfq_id=quote.rfq_id,
                supplier_id=quote.supplier_id,
                supplier_name=names[quote.supplier_id],
                status=quote.status,
                revision=quote.revision,
                currency=quote.currency,
                valid_until=quote.valid_until,
                lead_time_days=quote.lead_time_days,
                payment_terms=quote.payment_terms,
                terms=quote.terms,
                notes=quote.notes,
                submitted_at=quote.submitted_at,
                items=lines,
                total=sum((line.line_total for line in lines), Decimal(0)),
            )
        )
    return result


async def submit_quote(
    session: AsyncSession, actor: Actor, rfq_id: uuid.UUID, body: QuoteSubmit
) -> QuoteRead:
    """One live quote per supplier: a second submission is a revision of the first,
    whose previous version is kept in the history."""
    if actor.company.kind not in ("supplier", "both"):
        raise NotASupplier()
    rfq = await repository.readable_rfq(session, actor, rfq_id)
    if rfq is None or "buyer_id" in sides(rfq, actor):
        raise RfqNotFound()
    if rfq.status != "open" or rfq.deadline <= _now():
        raise RfqNotOpen(status=rfq.status if rfq.status != "open" else "past its deadline")
    rfq_items = {item.id for item in (await repository.items_of(session, [rfq.id]))[rfq.id]}
    unknown = [
        {
            "loc": ["body", "items", index, "rfq_item_id"],
            "msg": "not an item of this RFQ",
            "type": "unknown",
        }
        for index, item in enumerate(body.items)
        if item.rfq_item_id not in rfq_items
    ]
    if unknown:
        raise InvalidQuote(errors=unknown)
    quote = await repository.live_quote_of(session, rfq.id, actor, lock=True)
    now = _now()
    if quote is None:
        quote = Quote(
            id=uuid.uuid4(),
            rfq_id=rfq.id,
            supplier_id=actor.company_id,
            submitted_by_user_id=actor.user_id,
            status="submitted",
            revision=1,
            currency=rfq.currency,
            valid_until=body.valid_until,
            lead_time_days=body.lead_time_days,
            payment_terms=body.payment_terms.value,
            terms=body.terms,
            notes=body.notes,
            submitted_at=now,
        )
        await repository.add_all(session, [quote])
    else:
        previous = (await _describe_quotes(session, [quote], rfq))[0]
        await repository.add_all(
            session,
            [
                QuoteRevision(
                    quote_id=quote.id,
                    revision=quote.revision,
                    snapshot=previous.model_dump(mode="json"),
                )
            ],
        )
        quote.revision += 1
        quote.valid_until = body.valid_until
        quote.lead_time_days = body.lead_time_days
        quote.payment_terms = body.payment_terms.value
        quote.terms = body.terms
        quote.notes = body.notes
        quote.submitted_at = now
        quote.submitted_by_user_id = actor.user_id
    await repository.replace_quote_items(
        session,
        quote.id,
        [
            QuoteItem(quote_id=quote.id, rfq_item_id=item.rfq_item_id, unit_price=item.unit_price)
            for item in body.items
        ],
    )
    await emit(
        session,
        QuoteSubmitted(
            quote_id=quote.id,
            rfq_id=rfq.id,
            buyer_id=rfq.buyer_id,
            supplier_id=actor.company_id,
            revision=quote.revision,
        ),
    )
    return (await _describe_quotes(session, [quote], rfq))[0]


async def withdraw_quote(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> None:
    quote = await repository.live_quote_of(session, rfq_id, actor, lock=True)
    rfq = await repository.readable_rfq(session, actor, rfq_id, quoted=True)
    if quote is None or rfq is None:
        raise QuoteNotFound()
    quote.status = "withdrawn"
    await repository.flush(session)
    await emit(
        session,
        QuoteWithdrawn(
            quote_id=quote.id,
            rfq_id=rfq_id,
            buyer_id=rfq.buyer_id,
            supplier_id=actor.company_id,
            revision=quote.revision,
        ),
    )


async def list_quotes(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> list[QuoteRead]:
    """The buyer sees every quote; a supplier only its own."""
    rfq = await repository.readable_rfq(session, actor, rfq_id)
    if rfq is None:
        raise RfqNotFound()
    quotes = await repository.quotes_of_rfq(session, actor, rfq.id)
    if "buyer_id" in sides(rfq, actor):
        quotes = [q for q in quotes if q.status != "withdrawn"]
        return await _describe_quotes(session, quotes, rfq)
    own = await _describe_quotes(session, quotes, rfq)
    # A won quote reads as accepted once the order the award made reached the supplier:
    # while that order waits for the buyer's approval, the supplier knows of no award.
    released = {
        award.quote_id
        for award in (await repository.awards_of(session, [rfq.id])).values()
        if award.released
    }
    return [
        quote.model_copy(update={"status": "submitted"})
        if quote.status == "accepted" and quote.id not in released
        else quote
        for quote in own
    ]


async def compare(session: AsyncSession, actor: Actor, rfq_id: uuid.UUID) -> Comparison:
    rfq = await _buyer_rfq(session, actor, rfq_id)
    quotes = [
        q
        for q in await repository.quotes_of_rfq(session, actor, rfq.id)
        if q.status in ("submitted", "accepted")
    ]
    described = await _describe_quotes(session, quotes, rfq)
    items = (await repository.items_of(session, [rfq.id]))[rfq.id]
    comparison_items = []
    for item in items:
        offers = [
            (quote, line)
            for quote in described
            for line in quote.items
            if line.rfq_item_id == item.id
        ]
        best = min((line.unit_price for _quote, line in offers), default=None)
        comparison_items.append(
            ComparisonItem(
                rfq_item_id=item.id,
                description=item.description,
                quantity=item.quantity,
                target_unit_price=item.target_unit_price,
                offers=sorted(
                    (
                        ComparisonOffer(
                            quote_id=quote.id,
                            supplier_id=quote.supplier_id,
                            supplier_name=quote.supplier_name,
                            unit_price=line.unit_price,
                            line_total=line.line_total,
                            lead_time_days=quote.lead_time_days,
                            is_best=line.unit_price == best,
                        )
                        for quote, line in offers
                    ),
                    key=lambda offer: (offer.unit_price, offer.lead_time_days),
                ),
            )
        )
    return Comparison(
        rfq_id=rfq.id,
        currency=rfq.currency,
        items=comparison_items,
        quotes=[
            ComparisonSupplier(
                quote_id=quote.id,
                supplier_id=quote.supplier_id,
                supplier_name=quote.supplier_name,
                total=quote.total,
                items_quoted=len(quote.items),
                lead_time_days=quote.lead_time_days,
                valid_until=quote.valid_until,
            )
            for quote in sorted(described, key=lambda quote: quote.total)
        ],
    )


async def award(
    session: AsyncSession, cache: Cache, actor: Actor, rfq_id: uuid.UUID, body: AwardRequest
) -> tuple[RfqRead, list[uuid.UUID]]:
    rfq = await _buyer_rfq(session, actor, rfq_id, lock=True)
    if rfq.status != "open":
        raise RfqNotOpen(status=rfq.status)
    items = {item.id: item for item in (await repository.items_of(session, [rfq.id]))[rfq.id]}
    quotes = {q.id: q for q in await repository.quotes_of_rfq(session, actor, rfq.id)}
    quote_items = await repository.quote_items_of(session, list(quotes))
    now = _now()
    problems: list[dict[str, object]] = []
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(body.lines):
        quote = quotes.get(line.quote_id)
        if line.rfq_item_id not in items:
            problems.append(
                {
                    "loc": ["body", "lines", index, "rfq_item_id"],
                    "msg": "not an item of this RFQ",
                    "type": "unknown",
                }
            )
        elif line.rfq_item_id in seen:
            problems.append(
                {
                    "loc": ["body", "lines", index, "rfq_item_id"],
                    "msg": "awarded twice",
                    "type": "duplicate",
                }
            )
        elif quote is None:
            problems.append(
                {
                    "loc": ["body", "lines", index, "quote_id"],
                    "msg": "not a quote of this RFQ",
                    "type": "unknown",
                }
            )
        elif not any(item.rfq_item_id == line.rfq_item_id for item in quote_items[quote.id]):
            problems.append(
                {
                    "loc": ["body", "lines", index, "quote_id"],
                    "msg": "this quote does not price the item",
                    "type": "not_quoted",
                }
            )
        seen.add(line.rfq_item_id)
    if problems:
        raise InvalidAward(errors=problems)
    for line in body.lines:
        quote = quotes[line.quote_id]
        if quote.status != "submitted" or quote.valid_until <= now:
            raise QuoteNotLive(status="expired" if quote.status == "submitted" else quote.status)

    product_suppliers = await _product_suppliers(
        session, actor, [items[line.rfq_item_id] for line in body.lines]
    )
    requests = []
    for line in body.lines:
        item = items[line.rfq_item_id]
        quote = quotes[line.quote_id]
        price = next(q.unit_price for q in quote_items[quote.id] if q.rfq_item_id == item.id)
        # A catalog line becomes a stock-reserving product line only when the winning
        # supplier is the product's own; otherwise it is ordered as described.
        own_product = (
            item.product_id if product_suppliers.get(item.product_id) == quote.supplier_id else None
        )
        requests.append(
            orders.LineRequest(
                quantity=item.quantity,
                product_id=own_product,
                agreed_unit_price=price,
                supplier_id=quote.supplier_id,
                currency=quote.currency,
                name=item.description or None,
                unit=item.unit,
                rfq_item_id=item.id,
                lead_time_days=quote.lead_time_days,
            )
        )
    placed = (
        await orders.place_orders(
            session,
            cache,
            actor,
            requests,
            body,
            source="rfq",
            rfq_id=rfq.id,
            payment_terms_by_supplier={
                quote.supplier_id: quote.payment_terms for quote in quotes.values()
            },
        )
    ).orders
    winners = {line.quote_id for line in body.lines}
    await repository.settle_quotes(session, rfq.id, winners)
    await repository.set_rfq_status(
        session, actor, rfq.id, ("open",), "awarded", awarded_at=now, closed_at=now
    )
    await emit(
        session,
        RfqAwarded(
            rfq_id=rfq.id,
            buyer_id=rfq.buyer_id,
            title=rfq.title,
            supplier_ids=sorted({quotes[q].supplier_id for q in winners}, key=str),
            awards=[
                RfqAward(
                    supplier_id=order.supplier_id,
                    order_id=order.id,
                    released=order.released_to_supplier_at is not None,
                )
                for order in placed
            ],
        ),
    )
    await session.refresh(rfq)
    described = (await _describe(session, actor.company_id, [rfq], buyer_view=True))[0]
    return described, [order.id for order in placed]


async def _product_suppliers(
    session: AsyncSession, actor: Actor, items: list[RfqItem]
) -> dict[uuid.UUID | None, uuid.UUID]:
    product_ids = [item.product_id for item in items if item.product_id is not None]
    products = await stock.orderable_products(session, actor.company_id, product_ids)
    return {product_id: product.supplier_id for product_id, product in products.items()}


async def expire_rfqs_and_quotes(session: AsyncSession, platform: Platform) -> int:
    """Scheduled: quotes past their validity expire; an open RFQ past its deadline
    expires once no live quote is left to award (quoting stops at the deadline, the
    award may come after it while quotes are valid)."""
    now = _now()
    expired_quotes = await repository.expire_due_quotes(session, now)
    expired = await repository.expire_due_rfqs(session, now)
    for rfq in expired:
        await emit(
            session,
            RfqStatusChanged(
                rfq_id=rfq.id, buyer_id=rfq.buyer_id, title=rfq.title, status="expired"
            ),
        )
    return len(expired) + expired_quotes


@dataclass(frozen=True)
class RfqAccess:
    """What another domain (messaging) may know of an RFQ a company can see: its buyer,
    its status and, for the buyer, the suppliers it deals with (invited or quoting)."""

    rfq_id: uuid.UUID
    buyer_id: uuid.UUID
    status: str
    counterpart_ids: frozenset[uuid.UUID]
    is_buyer: bool  # the company asking is the RFQ's buyer (else a supplier)


async def rfq_access(
    session: AsyncSession, company_id: uuid.UUID, rfq_id: uuid.UUID
) -> RfqAccess | None:
    """The RFQ as the company may see it (its buyer, an invited supplier, a supplier it
    is visible to, or one that quoted on it); None when it may not."""
    rfq = await repository.readable_rfq(session, company_id, rfq_id, quoted=True)
    if rfq is None:
        return None
    if "buyer_id" in sides(rfq, company_id):
        quotes = await repository.quotes_of_rfq(session, company_id, rfq.id)
        quoting = {quote.supplier_id for quote in quotes}
        invited = set(await repository.invited_suppliers(session, rfq.id))
        return RfqAccess(rfq.id, rfq.buyer_id, rfq.status, frozenset(quoting | invited), True)
    return RfqAccess(rfq.id, rfq.buyer_id, rfq.status, frozenset({rfq.buyer_id}), False)


async def parties_of_quote(
    session: AsyncSession, company_id: uuid.UUID, quote_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(buyer, supplier) of a quote the company is a party to (the RFQ's buyer or the
    quoting supplier); None for any other quote."""
    quote = await repository.readable_quote(session, company_id, quote_id)
    if quote is None:
        return None
    rfq = await repository.readable_rfq(session, company_id, quote.rfq_id, quoted=True)
    if rfq is None:
        return None
    return rfq.buyer_id, quote.supplier_id
