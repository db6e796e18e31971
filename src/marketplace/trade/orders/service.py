"""Placing orders (direct, checkout, RFQ award), their state machine, carts.

Every order goes through `place_orders`: prices from the catalog's one pricing
function (never from the client), MOQ and pack sizes enforced, stock reserved
atomically for all lines at once (product-id order), one order per supplier, the
buyer's approval rules applied, the history recorded and `order.placed` emitted,
all in the caller's transaction: all or nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import stock
from marketplace.catalog.price_lists.service import CENT, PriceQuote, quote
from marketplace.companies import service as companies
from marketplace.core.access import Actor
from marketplace.core.cache import Cache
from marketplace.core.errors import DomainError
from marketplace.core.events import emit
from marketplace.core.pagination import Page, decode_time_keyset
from marketplace.core.repository import page_of
from marketplace.core.tenancy import sides
from marketplace.trade.events import (
    OrderPlaced,
    OrderStatusChanged,
    RfqAward,
    RfqAwardReleased,
    order_parties,
)
from marketplace.trade.invoices import service as invoices
from marketplace.trade.models import Order, OrderLine, OrderTransition
from marketplace.trade.orders import approvals, repository
from marketplace.trade.orders.errors import (
    AddressNotFound,
    EmptyOrder,
    IllegalTransition,
    InsufficientStock,
    InvalidOrderLines,
    MixedCurrencies,
    NotABuyer,
    OrderNotFound,
    PriceChanged,
    ProductsUnavailable,
    Shortage,
    TransitionNotAllowed,
)
from marketplace.trade.orders.schemas import (
    CartLineRead,
    CartRead,
    CheckoutTerms,
    OrderCreate,
    OrderDetail,
    OrderLineRead,
    OrderRead,
    SupplierSubtotal,
    TransitionRead,
    TransitionRequest,
)
from marketplace.trade.orders.state_machine import (
    AWAITING_APPROVAL,
    PLACED,
    TRANSITIONS,
    OrderAction,
    is_buyers_note,
    reaches_supplier,
)

NET_DAYS = {"prepaid": 0, "net_15": 15, "net_30": 30, "net_60": 60}
# The scales of order_lines' NUMERIC columns: a line held in memory reads as it is stored.
QUANTITY_STEP = Decimal("0.001")
UNIT_PRICE_STEP = Decimal("0.0001")


@dataclass(frozen=True)
class LineRequest:
    """One wanted line. `product_id` lines are priced by the catalog; RFQ lines carry
    their awarded price (`agreed_unit_price`) and may be free text."""

    quantity: Decimal
    product_id: uuid.UUID | None = None
    expected_unit_price: Decimal | None = None  # cart: the price the buyer saw
    agreed_unit_price: Decimal | None = None  # RFQ award: the quoted price
    supplier_id: uuid.UUID | None = None  # RFQ free-text lines name their supplier
    currency: str | None = None
    name: str | None = None
    unit: str | None = None
    rfq_item_id: uuid.UUID | None = None
    lead_time_days: int = 0


@dataclass
class Placed:
    """What `place_orders` wrote, rows as stored: `describe` needs no second read."""

    orders: list[Order]
    lines: dict[uuid.UUID, list[OrderLine]]
    history: dict[uuid.UUID, list[OrderTransition]]
    # The display names of the orders' companies known while placing them (the buyer
    # acting, the suppliers of the products): the answer reads no names of its own.
    names: dict[uuid.UUID, str] = field(default_factory=dict)


def _as_stored(value: Decimal, step: Decimal) -> Decimal:
    """The value a NUMERIC column of that scale gives back (PostgreSQL rounds half away
    from zero): Decimal("1") is stored and read as 1.000."""
    return value.quantize(step, rounding=ROUND_HALF_UP)


@dataclass
class _PricedLine:
    request: LineRequest
    supplier_id: uuid.UUID
    supplier_name: str | None
    currency: str
    sku: str | None
    name: str
    unit: str
    unit_price: Decimal
    line_total: Decimal
    lead_time_days: int
    reserve: bool


@dataclass
class _SupplierGroup:
    supplier_id: uuid.UUID
    currency: str
    lines: list[_PricedLine] = field(default_factory=list)


def _line_error(index: int, field_name: str, message: str, kind: str) -> dict[str, object]:
    return {"loc": ["body", "lines", index, field_name], "msg": message, "type": kind}


def _translated(error: DomainError) -> str:
    return error.detail(None)


async def _price_lines(
    session: AsyncSession, buyer_id: uuid.UUID, requests: Sequence[LineRequest]
) -> list[_PricedLine]:
    product_ids = [request.product_id for request in requests if request.product_id]
    if len(set(product_ids)) != len(product_ids):
        raise InvalidOrderLines(
            errors=[
                _line_error(index, "product_id", "the same product appears twice", "duplicate")
                for index, request in enumerate(requests)
                if request.product_id and product_ids.count(request.product_id) > 1
            ]
        )
    products = await stock.orderable_products(session, buyer_id, product_ids)
    unavailable = [
        _line_error(
            index, "product_id", "unknown product, or not available to order", "unavailable"
        )
        for index, request in enumerate(requests)
        if request.product_id is not None and request.product_id not in products
    ]
    if unavailable:
        raise ProductsUnavailable(errors=unavailable)

    priced: list[_PricedLine] = []
    problems: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for index, request in enumerate(requests):
        if request.product_id is None or request.agreed_unit_price is not None:
            product = products.get(request.product_id) if request.product_id else None
            unit_price = request.agreed_unit_price or Decimal(0)
            priced.append(
                _PricedLine(
                    request=request,
                    supplier_id=request.supplier_id
                    or (product.supplier_id if product else uuid.UUID(int=0)),
                    supplier_name=product.supplier_name
                    if product and not request.supplier_id
                    else None,
                    currency=request.currency or (product.currency if product else ""),
                    sku=product.sku if product else None,
                    name=request.name or (product.name if product else ""),
                    unit=request.unit or (product.unit if product else "piece"),
                    unit_price=unit_price,
                    line_total=(unit_price * request.quantity).quantize(CENT),
                    lead_time_days=request.lead_time_days,
                    reserve=product is not None,
                )
            )
            continue
        product = products[request.product_id]
        try:
            price: PriceQuote = quote(
                request.quantity,
                moq=product.moq,
                order_multiple=product.order_multiple,
                tiers=product.tiers,
                price_list=product.price_list,
            )
        except DomainError as error:
            problems.append(_line_error(index, "quantity", _translated(error), error.code))
            continue
        if (
            request.expected_unit_price is not None
            and price.unit_price != request.expected_unit_price
        ):
            changed.append(
                {
                    "loc": ["lines", index, "unit_price"],
                    "msg": f"now {price.unit_price} (was {request.expected_unit_price})",
                    "type": "price_changed",
                    "product_id": str(product.id),
                    "previous_unit_price": str(request.expected_unit_price),
                    "unit_price": str(price.unit_price),
                }
            )
        priced.append(
            _PricedLine(
                request=request,
                supplier_id=product.supplier_id,
                supplier_name=product.supplier_name,
                currency=product.currency,
                sku=product.sku,
                name=product.name,
                unit=product.unit,
                unit_price=price.unit_price,
                line_total=price.line_total,
                lead_time_days=product.lead_time_days,
                reserve=True,
            )
        )
    if problems:
        raise InvalidOrderLines(errors=problems)
    if changed:
        raise PriceChanged(errors=changed)
    return priced


def _group(lines: list[_PricedLine]) -> list[_SupplierGroup]:
    groups: dict[uuid.UUID, _SupplierGroup] = {}
    for line in lines:
        group = groups.setdefault(line.supplier_id, _SupplierGroup(line.supplier_id, line.currency))
        if group.currency != line.currency:
            raise MixedCurrencies()
        group.lines.append(line)
    return sorted(groups.values(), key=lambda group: str(group.supplier_id))


async def resolve_shipping_address(
    session: AsyncSession, buyer_id: uuid.UUID, terms: CheckoutTerms
) -> dict[str, Any]:
    if terms.shipping_address is not None:
        return terms.shipping_address.model_dump(mode="json")
    assert terms.shipping_address_id is not None
    address = await companies.get_address(session, buyer_id, terms.shipping_address_id)
    if address is None:
        raise AddressNotFound()
    return {
        "recipient": address.recipient,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "region": address.region,
        "country": address.country,
    }


def _record_transition(
    order: Order,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: Actor,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> OrderTransition:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return OrderTransition(
        id=uuid.uuid4(),
        order_id=order.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_company_id=actor.company_id,
        reason=reason,
        details=details or {},
        request_id=str(request_id) if request_id else None,
        # Python's clock, not now(): several transitions in one transaction stay ordered.
        created_at=datetime.now(UTC),
    )


async def place_orders(
    session: AsyncSession,
    cache: Cache,
    actor: Actor,
    requests: Sequence[LineRequest],
    terms: CheckoutTerms,
    *,
    source: Literal["checkout", "direct", "rfq"],
    rfq_id: uuid.UUID | None = None,
    payment_terms_by_supplier: dict[uuid.UUID, str] | None = None,
) -> Placed:
    if actor.company.kind not in ("buyer", "both"):
        raise NotABuyer()
    if not requests:
        raise EmptyOrder()
    lines = await _price_lines(session, actor.company_id, requests)
    groups = _group(lines)
    shipping_address = await resolve_shipping_address(session, actor.company_id, terms)

    now = datetime.now(UTC)
    subtotals = {
        group.supplier_id: sum((line.line_total for line in group.lines), Decimal(0))
        for group in groups
    }
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for group in groups:
        totals[group.currency] += subtotals[group.supplier_id]
    # One decision for all the request's orders: a purchase split across suppliers is
    # still one purchase against the limits.
    needs_approval = await approvals.needs_approval(session, actor, totals, now)
    status = AWAITING_APPROVAL if needs_approval else PLACED
    placed = Placed(orders=[], lines={}, history={}, names={actor.company_id: actor.company.name})
    placed.names.update(
        (line.supplier_id, line.supplier_name) for line in lines if line.supplier_name is not None
    )
    for group in groups:
        subtotal = subtotals[group.supplier_id]
        payment_terms = (payment_terms_by_supplier or {}).get(
            group.supplier_id, terms.payment_terms.value
        )
        order = Order(
            id=uuid.uuid4(),
            number=await repository.next_order_number(session, now.year),
            buyer_id=actor.company_id,
            supplier_id=group.supplier_id,
            placed_by_user_id=actor.user_id,
            placed_by_api_key_id=actor.api_key_id,
            source=source,
            rfq_id=rfq_id,
            status=status,
            currency=group.currency,
            subtotal=subtotal,
            total=subtotal,
            payment_terms=payment_terms,
            po_number=terms.po_number,
            notes=terms.notes,
            shipping_address=shipping_address,
            placed_at=now,
            released_to_supplier_at=now if status == PLACED else None,
            due_date=now.date() + timedelta(days=NET_DAYS[payment_terms]),
            promised_by=now.date()
            + timedelta(days=max((line.lead_time_days for line in group.lines), default=0)),
        )
        order_lines = [
            OrderLine(
                id=uuid.uuid4(),
                order_id=order.id,
                position=position,
                product_id=line.request.product_id,
                rfq_item_id=line.request.rfq_item_id,
                sku=line.sku,
                name=line.name,
                unit=line.unit,
                quantity=_as_stored(line.request.quantity, QUANTITY_STEP),
                unit_price=_as_stored(line.unit_price, UNIT_PRICE_STEP),
                line_total=_as_stored(line.line_total, CENT),
                reserved_quantity=line.request.quantity if line.reserve else Decimal(0),
            )
            for position, line in enumerate(group.lines, start=1)
        ]
        placing = _record_transition(
            order, "place", None, status, actor, details={"source": source}
        )
        await emit(
            session,
            OrderPlaced(
                **order_parties(order),
                status=status,
                currency=order.currency,
                total=order.total,
                source=source,
            ),
            write=partial(repository.add_placed_order, session, order, order_lines, placing),
        )
        placed.orders.append(order)
        placed.lines[order.id] = order_lines
        placed.history[order.id] = [placing]

    # Last, so that the products' rows stay locked for as short a time as possible:
    # concurrent orders of a hot product queue on its row until this transaction ends.
    wanted: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.reserve and line.request.product_id is not None:
            wanted[line.request.product_id] += line.request.quantity
    short = await stock.reserve(session, cache, wanted)
    if short:
        ordered = {line.request.product_id: line for line in lines}
        raise InsufficientStock(
            [
                Shortage(
                    product_id=product_id,
                    sku=ordered[product_id].sku or "",
                    name=ordered[product_id].name,
                    unit=ordered[product_id].unit,
                    requested=wanted[product_id],
                    available=available,
                )
                for product_id, available in sorted(short.items())
            ],
            errors=[
                _line_error(index, "quantity", "not enough stock", "insufficient_stock")
                | {"product_id": str(request.product_id)}
                for index, request in enumerate(requests)
                if request.product_id in short
            ],
        )
    return placed


def _side(actor: Actor, order: Order) -> Literal["buyer", "supplier"] | None:
    side = sides(order, actor)
    if "buyer_id" in side:
        return "buyer"
    if "supplier_id" in side:
        return "supplier"
    return None


async def transition(
    session: AsyncSession,
    cache: Cache,
    actor: Actor,
    order_id: uuid.UUID,
    request: TransitionRequest,
) -> Order:
    order = await repository.get_order_for(session, actor, order_id, lock=True)
    if order is None:
        raise OrderNotFound()
    rule = TRANSITIONS[request.action]
    if _side(actor, order) != rule.side or not actor.can(rule.permission):
        raise TransitionNotAllowed(action=request.action.value)
    if order.status not in rule.sources:
        raise IllegalTransition(status=order.status, action=request.action.value)
    now = datetime.now(UTC)
    values: dict[str, object] = {}
    if request.action is OrderAction.SHIP:
        # Shipping issues the invoice, in this transaction: the number is stored with the
        # move or given back by its rollback.
        values = {
            "carrier": request.carrier,
            "tracking_number": request.tracking_number,
            "shipped_at": now,
            "invoice_number": await invoices.issue_number(session, order.supplier_id, now),
            "invoiced_at": now,
        }
    elif request.action is OrderAction.DELIVER:
        values = {"delivered_at": now}
    elif request.action is OrderAction.COMPLETE:
        values = {"completed_at": now}
    elif request.action is OrderAction.APPROVE:
        values = {"approved_by_user_id": actor.user_id, "released_to_supplier_at": now}
    previous = order.status
    if not await repository.move_status(
        session, actor, order.id, rule.sources, rule.target, **values
    ):
        raise IllegalTransition(status=order.status, action=request.action.value)
    if rule.releases_stock:
        reserved = await repository.reserved_quantities(session, order.id)
        await stock.release(session, cache, reserved)
        await repository.zero_reservations(session, order.id)
    details = {
        key: str(value) for key, value in values.items() if key in ("carrier", "tracking_number")
    }
    await repository.add_all(
        session,
        [
            _record_transition(
                order, request.action.value, previous, rule.target, actor, request.reason, details
            )
        ],
    )
    await emit(
        session,
        OrderStatusChanged(
            **order_parties(order),
            action=request.action.value,
            from_status=previous,
            to_status=rule.target,
            reason=request.reason,
        ),
    )
    if request.action is OrderAction.APPROVE and order.rfq_id is not None:
        # The award that made it was held back from the supplier until now.
        await emit(
            session,
            RfqAwardReleased(
                rfq_id=order.rfq_id,
                buyer_id=order.buyer_id,
                title=await repository.rfq_title(session, order.rfq_id),
                supplier_ids=[order.supplier_id],
                awards=[RfqAward(supplier_id=order.supplier_id, order_id=order.id)],
            ),
        )
    await session.refresh(order)
    return order


def history_seen_by(
    viewer_id: uuid.UUID, order: Order, history: Sequence[OrderTransition]
) -> list[TransitionRead]:
    """The order's history as the viewer's company may see it: its supplier is shown
    neither the steps taken while the order waited for the buyer's approval nor the
    buyer's notes on that decision (the same rule as the order's events)."""
    if viewer_id == order.buyer_id:
        return [TransitionRead.model_validate(step) for step in history]
    shown = []
    for step in history:
        if not reaches_supplier(step.from_status, step.to_status):
            continue
        read = TransitionRead.model_validate(step)
        shown.append(
            read.model_copy(update={"reason": None}) if is_buyers_note(step.from_status) else read
        )
    return shown


_COMPANY_NAMES = frozenset({"buyer_name", "supplier_name"})
_JOINED = _COMPANY_NAMES | {"reviewed"}


async def order_reads(
    session: AsyncSession, orders: Sequence[Order], placed: Placed | None = None
) -> list[OrderRead]:
    """Orders as read, each with its buyer's and its supplier's display name and whether
    it was reviewed (one query each for all of them). Orders `placed` in this request
    have no review yet, and the names known while placing them are not read again."""
    known = placed.names if placed is not None else {}
    wanted = {order.buyer_id for order in orders} | {order.supplier_id for order in orders}
    names = {company_id: known[company_id] for company_id in wanted & known.keys()}
    if wanted - names.keys():
        names.update(await companies.display_names(session, wanted - names.keys()))
    reviewed = (
        set()
        if placed is not None
        else await repository.reviewed_orders(session, [order.id for order in orders])
    )
    return [
        OrderRead(
            **{name: getattr(order, name) for name in OrderRead.model_fields.keys() - _JOINED},
            buyer_name=names[order.buyer_id],
            supplier_name=names[order.supplier_id],
            reviewed=order.id in reviewed,
        )
        for order in orders
    ]


async def describe(
    session: AsyncSession,
    viewer_id: uuid.UUID,
    orders: Sequence[Order],
    placed: Placed | None = None,
) -> list[OrderDetail]:
    """Orders with their lines and history, as the viewer's company may see them: read,
    or as `place_orders` just wrote them."""
    if placed is not None:
        lines, history = placed.lines, placed.history
    else:
        ids = [order.id for order in orders]
        lines = await repository.lines_of(session, ids)
        history = await repository.history_of(session, ids)
    return [
        OrderDetail(
            **read.model_dump(),
            lines=[OrderLineRead.model_validate(line) for line in lines[order.id]],
            history=history_seen_by(viewer_id, order, history[order.id]),
        )
        for order, read in zip(orders, await order_reads(session, orders, placed), strict=True)
    ]


async def get_order(session: AsyncSession, actor: Actor, order_id: uuid.UUID) -> OrderDetail:
    order = await repository.get_order_for(session, actor, order_id)
    if order is None:
        raise OrderNotFound()
    return (await describe(session, actor.company_id, [order]))[0]


async def list_orders(
    session: AsyncSession,
    actor: Actor,
    *,
    side: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[OrderRead]:
    after = decode_time_keyset(cursor)
    rows = await repository.list_orders(
        session, actor.company_id, side=side, status=status, after=after, limit=limit + 1
    )
    return page_of(rows, limit, await order_reads(session, rows[:limit]))


# --- carts ----------------------------------------------------------------------------


async def _require_user(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:
        from marketplace.identity.errors import ApiKeyNotAllowed

        raise ApiKeyNotAllowed()
    return actor.user_id


async def read_cart(session: AsyncSession, actor: Actor) -> CartRead:
    """The cart at today's prices and stock. Viewing it is how a buyer sees (and
    accepts) a new price: the shown prices become the ones checkout expects. A line is
    available when it can be ordered as it is: the product orderable, the quantity
    valid for its MOQ and pack size, and covered by the stock."""
    user_id = await _require_user(actor)
    cart_id = await repository.cart_of(session, user_id, actor.company_id)
    if cart_id is None:
        return CartRead(buyer_id=actor.company_id, lines=[], subtotals=[])
    lines = await repository.cart_lines(session, cart_id)
    products = await stock.orderable_products(
        session, actor.company_id, [line.product_id for line in lines]
    )
    return await _priced_cart(session, actor, lines, products)


async def _priced_cart(
    session: AsyncSession,
    actor: Actor,
    lines: Sequence[repository.CartLineRow],
    products: dict[uuid.UUID, stock.OrderableProduct],
) -> CartRead:
    """The cart's lines priced from `products` (its lines' orderable products, read in
    this transaction); a line whose price changed is quoted at the new one."""
    read: list[CartLineRead] = []
    subtotals: dict[tuple[uuid.UUID, str], SupplierSubtotal] = {}
    for line in lines:
        product = products.get(line.product_id)
        if product is None:
            read.append(
                CartLineRead(
                    product_id=line.product_id,
                    sku="",
                    name="",
                    supplier_id=uuid.UUID(int=0),
                    supplier_name="",
                    unit="",
                    currency="",
                    quantity=line.quantity,
                    unit_price=line.quoted_unit_price,
                    line_total=Decimal(0),
                    price_source="unavailable",
                    available=False,
                    available_quantity=Decimal(0),
                )
            )
            continue
        try:
            price = quote(
                line.quantity,
                moq=product.moq,
                order_multiple=product.order_multiple,
                tiers=product.tiers,
                price_list=product.price_list,
            )
        except DomainError:
            available = False
            unit_price, line_total, source = line.quoted_unit_price, Decimal(0), "invalid_quantity"
        else:
            available = line.quantity <= product.stock
            unit_price, line_total, source = price.unit_price, price.line_total, price.source
            if price.unit_price != line.quoted_unit_price:
                await repository.set_quoted_price(session, line.id, price.unit_price)
        read.append(
            CartLineRead(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                supplier_id=product.supplier_id,
                supplier_name=product.supplier_name,
                unit=product.unit,
                currency=product.currency,
                quantity=line.quantity,
                unit_price=unit_price,
                line_total=line_total,
                price_source=source,
                available=available,
                available_quantity=product.stock,
            )
        )
        if available:
            key = (product.supplier_id, product.currency)
            subtotal = subtotals.setdefault(
                key,
                SupplierSubtotal(
                    supplier_id=key[0],
                    supplier_name=product.supplier_name,
                    currency=key[1],
                    subtotal=Decimal(0),
                    lines=0,
                ),
            )
            subtotal.subtotal += line_total
            subtotal.lines += 1
    return CartRead(buyer_id=actor.company_id, lines=read, subtotals=list(subtotals.values()))


async def set_cart_line(
    session: AsyncSession, actor: Actor, product_id: uuid.UUID, quantity: Decimal
) -> CartRead:
    """Add the product or set its quantity, and answer with the whole cart. The cart's
    products, this one among them, are read once: the product is checked and priced
    from the same read that prices the rest of the cart."""
    user_id = await _require_user(actor)
    if actor.company.kind not in ("buyer", "both"):
        raise NotABuyer()
    cart_id, lines = await repository.made_cart_with_lines(session, user_id, actor.company_id)
    products = await stock.orderable_products(
        session,
        actor.company_id,
        [line.product_id for line in lines if line.product_id != product_id] + [product_id],
    )
    product = products.get(product_id)
    if product is None:
        raise ProductsUnavailable(
            errors=[
                {
                    "loc": ["path", "product_id"],
                    "msg": "not available to order",
                    "type": "unavailable",
                }
            ]
        )
    price = quote(
        quantity,
        moq=product.moq,
        order_multiple=product.order_multiple,
        tiers=product.tiers,
        price_list=product.price_list,
    )
    written = await repository.upsert_cart_line(
        session, cart_id, product_id, quantity, price.unit_price
    )
    # In the order a read of the cart gives: a changed line keeps its creation time.
    lines = sorted(
        [line for line in lines if line.product_id != product_id] + [written],
        key=lambda line: line.place,
    )
    return await _priced_cart(session, actor, lines, products)


async def remove_cart_line(
    session: AsyncSession, actor: Actor, product_id: uuid.UUID | None
) -> CartRead:
    user_id = await _require_user(actor)
    cart_id = await repository.cart_of(session, user_id, actor.company_id)
    if cart_id is None:
        return CartRead(buyer_id=actor.company_id, lines=[], subtotals=[])
    await repository.delete_cart_lines(session, cart_id, product_id)
    lines = await repository.cart_lines(session, cart_id)
    products = await stock.orderable_products(
        session, actor.company_id, [line.product_id for line in lines]
    )
    return await _priced_cart(session, actor, lines, products)


async def checkout(
    session: AsyncSession, cache: Cache, actor: Actor, terms: CheckoutTerms
) -> Placed:
    """The cart becomes one order per supplier, in one transaction, at the prices the
    buyer was shown (409 with the new prices when they changed)."""
    user_id = await _require_user(actor)
    # Before the cart is read: a company that cannot buy is refused, whatever its cart.
    if actor.company.kind not in ("buyer", "both"):
        raise NotABuyer()
    cart_id, lines = await repository.lines_to_check_out(session, user_id, actor.company_id)
    if cart_id is None or not lines:
        raise EmptyOrder()
    requests = [
        LineRequest(
            product_id=line.product_id,
            quantity=line.quantity,
            expected_unit_price=line.quoted_unit_price,
        )
        for line in lines
    ]
    placed = await place_orders(session, cache, actor, requests, terms, source="checkout")
    await repository.delete_cart_lines(session, cart_id)
    return placed


async def place_direct_order(
    session: AsyncSession, cache: Cache, actor: Actor, body: OrderCreate
) -> Placed:
    """One order with one supplier, placed directly (integrations): lines of several
    suppliers are refused (422), which the cart exists for."""
    requests = [
        LineRequest(product_id=line.product_id, quantity=line.quantity) for line in body.lines
    ]
    placed = await place_orders(session, cache, actor, requests, body, source="direct")
    if len(placed.orders) != 1:
        # Found once the lines are priced (each product's supplier); the request's
        # transaction rolls back the orders written.
        raise InvalidOrderLines(
            errors=[
                {
                    "loc": ["body", "lines"],
                    "msg": "all lines of a direct order must be of one supplier; use the cart",
                    "type": "several_suppliers",
                }
            ]
        )
    return placed


async def set_policy(session: AsyncSession, actor: Actor, threshold: Decimal | None) -> None:
    await repository.set_policy(session, actor.company_id, threshold)


async def get_policy(session: AsyncSession, actor: Actor) -> Decimal | None:
    policy = await repository.policy_of(session, actor.company_id)
    return policy.approval_threshold if policy else None


@dataclass(frozen=True)
class OrderAccess:
    """What another domain (messaging) may know of an order a company can see: its
    parties, and whether its supplier has received it (not while it waits for the
    buyer's approval)."""

    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    is_released_to_supplier: bool


async def order_access(
    session: AsyncSession, company_id: uuid.UUID, order_id: uuid.UUID
) -> OrderAccess | None:
    """The order if the company may see it (other domains, e.g. messaging, ask this
    instead of reading orders); None for any other order."""
    order = await repository.get_order_for(session, company_id, order_id)
    if order is None:
        return None
    return OrderAccess(order.buyer_id, order.supplier_id, order.released_to_supplier_at is not None)
