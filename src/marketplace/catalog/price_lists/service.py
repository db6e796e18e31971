"""Business rules of a supplier's buyer groups and price lists, and the one pricing
function: every price a buyer sees or pays comes from `quote()`.

Everything here is scoped to the acting supplier: another supplier's group, list or
product is not found (404). A buyer's price is computed per request from the list
that prices the product for that buyer, cached per buyer and product
(`buyer_price_list`); every write through the groups' and lists' routes
retires those entries (`router._retire_buyer_prices`).

Every change is announced to the supplier alone (`buyer_group.*`, `price_list.*`) in
the transaction that makes it; a request that changes nothing announces nothing.

Pricing resolution: the buyer's price list (if one applies to the product and has a
tier at or below the quantity) -> the product's own tiers -> the tier with the largest
`min_qty` not above the quantity. Amounts are Decimals throughout; line totals are
rounded half-up to cents, unit prices are kept at their stored precision.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import Any, Literal, cast

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching
from marketplace.catalog import repository as catalog_repository
from marketplace.catalog.errors import ProductNotFound
from marketplace.catalog.price_lists import events, repository
from marketplace.catalog.price_lists.errors import (
    AssignmentNotFound,
    BuyerGroupNotFound,
    BuyerNotFound,
    DuplicateAssignment,
    DuplicateBuyerGroup,
    DuplicatePriceList,
    InvalidPriceTiers,
    PriceListNotFound,
    QuantityBelowMinimum,
    QuantityNotMultiple,
    QuantityNotPositive,
    QuantityNotWhole,
)
from marketplace.catalog.price_lists.models import (
    BuyerGroup,
    PriceList,
    PriceListAssignment,
    PriceListTiers,
    Tier,
)
from marketplace.catalog.price_lists.schemas import (
    AssignmentCreate,
    AssignmentRead,
    BuyerGroupCreate,
    BuyerGroupRead,
    BuyerGroupUpdate,
    PriceListCreate,
    PriceListDetail,
    PriceListProductRead,
    PriceListRead,
    PriceListTiersIn,
    PriceListUpdate,
)
from marketplace.catalog.schemas import TierRead, Unit
from marketplace.core.cache import Cache
from marketplace.core.events import FieldChange, emit, field_changes
from marketplace.core.pagination import InvalidCursor, Page, decode_cursor
from marketplace.core.repository import page_of

# Price-list tiers need not start at the MOQ: below their first tier the product's
# own tiers apply (`quote` falls back).
_NO_MOQ = Decimal("Infinity")


_ASSIGNMENT_CONSTRAINTS = (
    "uq_price_list_assignments_price_list_id_buyer_id",
    "uq_price_list_assignments_price_list_id_group_id",
)


# --- buyer groups -----------------------------------------------------------------


def _group_read(group: BuyerGroup, member_ids: list[uuid.UUID]) -> BuyerGroupRead:
    return BuyerGroupRead(
        id=group.id, name=group.name, member_ids=member_ids, created_at=group.created_at
    )


async def list_groups(
    session: AsyncSession, supplier_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[BuyerGroupRead]:
    """The supplier's groups by name (unique per supplier: the name is the cursor)."""
    after_name: str | None = None
    if cursor is not None:
        [after_name] = decode_cursor(cursor, 1)
        if not isinstance(after_name, str):
            raise InvalidCursor()
    rows = await repository.buyer_groups(
        session, supplier_id, after_name=after_name, limit=limit + 1
    )
    return page_of(rows, limit, lambda row: _group_read(*row), key=lambda row: (row[0].name,))


async def _group(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID
) -> tuple[BuyerGroup, list[uuid.UUID]]:
    found = await repository.buyer_group(session, supplier_id, group_id)
    if found is None:
        raise BuyerGroupNotFound()
    return found


async def get_group(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID
) -> BuyerGroupRead:
    return _group_read(*await _group(session, supplier_id, group_id))


async def create_group(
    session: AsyncSession, supplier_id: uuid.UUID, data: BuyerGroupCreate
) -> BuyerGroupRead:
    group = BuyerGroup(id=uuid.uuid4(), supplier_id=supplier_id, name=data.name)
    async with repository.unique_or(
        session, ("uq_buyer_groups_supplier_id_name",), DuplicateBuyerGroup()
    ):
        await repository.add(session, group, refresh=True)
    await emit(
        session,
        events.BuyerGroupCreated(group_id=group.id, supplier_id=supplier_id, name=group.name),
    )
    return _group_read(group, [])


async def rename_group(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID, data: BuyerGroupUpdate
) -> BuyerGroupRead:
    group, members = await _group(session, supplier_id, group_id)
    changes = field_changes(group, {"name": data.name})
    if not changes:
        return _group_read(group, members)
    group.name = data.name
    async with repository.unique_or(
        session, ("uq_buyer_groups_supplier_id_name",), DuplicateBuyerGroup()
    ):
        await repository.flush(session)
    await emit(
        session,
        events.BuyerGroupUpdated(
            group_id=group.id, supplier_id=supplier_id, name=group.name, changes=changes
        ),
    )
    return _group_read(group, members)


async def delete_group(session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID) -> None:
    """Deleting a group also ends the price lists' assignments to it."""
    group, _members = await _group(session, supplier_id, group_id)
    deleted = events.BuyerGroupDeleted(group_id=group_id, supplier_id=supplier_id, name=group.name)
    await repository.remove(session, group)
    await emit(session, deleted)


async def _require_buyer(
    session: AsyncSession, supplier_id: uuid.UUID, buyer_id: uuid.UUID
) -> None:
    if buyer_id == supplier_id or not await repository.is_buyer_company(session, buyer_id):
        raise BuyerNotFound()


async def add_member(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID, buyer_id: uuid.UUID
) -> BuyerGroupRead:
    """Idempotent: adding a member again changes and announces nothing."""
    group, _members = await _group(session, supplier_id, group_id)
    await _require_buyer(session, supplier_id, buyer_id)
    if await repository.add_group_member(session, group.id, buyer_id):
        await emit(
            session,
            events.BuyerGroupMemberAdded(
                group_id=group.id, supplier_id=supplier_id, name=group.name, buyer_id=buyer_id
            ),
        )
    return await get_group(session, supplier_id, group_id)


async def remove_member(
    session: AsyncSession, supplier_id: uuid.UUID, group_id: uuid.UUID, buyer_id: uuid.UUID
) -> None:
    group, _members = await _group(session, supplier_id, group_id)
    if not await repository.remove_group_member(session, group.id, buyer_id):
        raise BuyerNotFound()
    await emit(
        session,
        events.BuyerGroupMemberRemoved(
            group_id=group.id, supplier_id=supplier_id, name=group.name, buyer_id=buyer_id
        ),
    )


# --- price lists ------------------------------------------------------------------


def _list_read(price_list: PriceList) -> PriceListRead:
    return PriceListRead(
        id=price_list.id,
        name=price_list.name,
        priority=price_list.priority,
        is_active=price_list.is_active,
        created_at=price_list.created_at,
        updated_at=price_list.updated_at,
    )


def _assignment_read(assignment: PriceListAssignment) -> AssignmentRead:
    return AssignmentRead(
        id=assignment.id, buyer_id=assignment.buyer_id, group_id=assignment.group_id
    )


async def _price_list(
    session: AsyncSession, supplier_id: uuid.UUID, price_list_id: uuid.UUID
) -> PriceList:
    found = await repository.price_list(session, supplier_id, price_list_id)
    if found is None:
        raise PriceListNotFound()
    return found


async def list_price_lists(
    session: AsyncSession, supplier_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[PriceListRead]:
    """Highest priority first, then by name (unique per supplier): the cursor is the
    last list's (priority, name)."""
    after: tuple[int, str] | None = None
    if cursor is not None:
        priority, name = decode_cursor(cursor, 2)
        if type(priority) is not int or not isinstance(name, str):
            raise InvalidCursor()
        after = (priority, name)
    rows = await repository.price_lists(session, supplier_id, after=after, limit=limit + 1)
    return page_of(rows, limit, _list_read, key=attrgetter("priority", "name"))


async def get_price_list(
    session: AsyncSession, supplier_id: uuid.UUID, price_list_id: uuid.UUID
) -> PriceListDetail:
    price_list = await _price_list(session, supplier_id, price_list_id)
    products = await repository.price_list_products(session, supplier_id, price_list.id)
    assignments = await repository.assignments_of(session, price_list.id)
    return PriceListDetail(
        **_list_read(price_list).model_dump(),
        products=[
            PriceListProductRead(
                product_id=product.id,
                sku=product.sku,
                currency=product.currency,
                tiers=[TierRead(min_qty=t.min_qty, unit_price=t.unit_price) for t in tiers],
            )
            for product, tiers in products
        ],
        assignments=[_assignment_read(assignment) for assignment in assignments],
    )


async def create_price_list(
    session: AsyncSession, supplier_id: uuid.UUID, data: PriceListCreate
) -> PriceListRead:
    price_list = PriceList(id=uuid.uuid4(), supplier_id=supplier_id, **data.model_dump())
    async with repository.unique_or(
        session, ("uq_price_lists_supplier_id_name",), DuplicatePriceList()
    ):
        await repository.add(session, price_list, refresh=True)
    await emit(
        session,
        events.PriceListCreated(
            price_list_id=price_list.id,
            supplier_id=supplier_id,
            name=price_list.name,
            priority=price_list.priority,
            is_active=price_list.is_active,
        ),
    )
    return _list_read(price_list)


async def update_price_list(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    price_list_id: uuid.UUID,
    data: PriceListUpdate,
) -> PriceListRead:
    price_list = await _price_list(session, supplier_id, price_list_id)
    changes = field_changes(price_list, data.model_dump(include=data.model_fields_set))
    if not changes:
        return _list_read(price_list)
    for name, change in changes.items():
        setattr(price_list, name, change.after)
    async with repository.unique_or(
        session, ("uq_price_lists_supplier_id_name",), DuplicatePriceList()
    ):
        await repository.flush(session)
    await session.refresh(price_list)
    await emit(
        session,
        events.PriceListUpdated(
            price_list_id=price_list.id,
            supplier_id=supplier_id,
            name=price_list.name,
            changes=changes,
        ),
    )
    return _list_read(price_list)


async def delete_price_list(
    session: AsyncSession, supplier_id: uuid.UUID, price_list_id: uuid.UUID
) -> None:
    price_list = await _price_list(session, supplier_id, price_list_id)
    deleted = events.PriceListDeleted(
        price_list_id=price_list_id, supplier_id=supplier_id, name=price_list.name
    )
    await repository.remove(session, price_list)
    await emit(session, deleted)


def _tiers_value(tiers: list[Tier]) -> list[dict[str, Decimal]]:
    return [{"min_qty": tier.min_qty, "unit_price": tier.unit_price} for tier in tiers]


def _tier_errors(tiers: list[Tier], unit: Unit) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in tier_errors(tiers, _NO_MOQ):
        location = cast(list[object], error["loc"])
        errors.append(
            {
                "loc": ["body", "tiers", *(str(part) for part in location[2:])],
                "msg": error["msg"],
                "type": "value_error",
            }
        )
    if unit.is_countable:
        for index, tier in enumerate(tiers):
            if tier.min_qty != tier.min_qty.to_integral_value():
                errors.append(
                    {
                        "loc": ["body", "tiers", str(index), "min_qty"],
                        "msg": f"must be a whole number: {unit.value} is counted in whole units",
                        "type": "value_error",
                    }
                )
    return errors


async def set_product_tiers(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    price_list_id: uuid.UUID,
    product_id: uuid.UUID,
    data: PriceListTiersIn,
) -> PriceListProductRead:
    """Replace the list's tiers for one of your products (empty: take it off the list)."""
    price_list = await _price_list(session, supplier_id, price_list_id)
    product = await catalog_repository.supplier_product(session, supplier_id, product_id)
    if product is None:
        raise ProductNotFound()
    tiers = [Tier(min_qty=tier.min_qty, unit_price=tier.unit_price) for tier in data.tiers]
    if tiers:
        errors = _tier_errors(tiers, Unit(product.unit))
        if errors:
            raise InvalidPriceTiers(errors=errors)
    previous = await repository.replace_price_list_tiers(session, price_list.id, product.id, tiers)
    if previous != tiers:
        await emit(
            session,
            events.PriceListTiersSet(
                price_list_id=price_list.id,
                supplier_id=supplier_id,
                name=price_list.name,
                product_id=product.id,
                sku=product.sku,
                changes={
                    "tiers": FieldChange(before=_tiers_value(previous), after=_tiers_value(tiers))
                },
            ),
        )
    return PriceListProductRead(
        product_id=product.id,
        sku=product.sku,
        currency=product.currency,
        tiers=[TierRead(min_qty=t.min_qty, unit_price=t.unit_price) for t in tiers],
    )


async def assign(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    price_list_id: uuid.UUID,
    data: AssignmentCreate,
) -> AssignmentRead:
    """Give the list to a buyer company or to one of your buyer groups."""
    price_list = await _price_list(session, supplier_id, price_list_id)
    if data.buyer_id is not None:
        await _require_buyer(session, supplier_id, data.buyer_id)
    if data.group_id is not None:
        await _group(session, supplier_id, data.group_id)
    assignment = PriceListAssignment(
        id=uuid.uuid4(),
        price_list_id=price_list.id,
        buyer_id=data.buyer_id,
        group_id=data.group_id,
    )
    async with repository.unique_or(session, _ASSIGNMENT_CONSTRAINTS, DuplicateAssignment()):
        await repository.add(session, assignment)
    await emit(
        session,
        events.PriceListAssigned(
            price_list_id=price_list.id,
            supplier_id=supplier_id,
            name=price_list.name,
            assignment_id=assignment.id,
            buyer_id=assignment.buyer_id,
            group_id=assignment.group_id,
        ),
    )
    return _assignment_read(assignment)


async def unassign(
    session: AsyncSession,
    supplier_id: uuid.UUID,
    price_list_id: uuid.UUID,
    assignment_id: uuid.UUID,
) -> None:
    price_list = await _price_list(session, supplier_id, price_list_id)
    deleted = await repository.delete_assignment(session, price_list.id, assignment_id)
    if deleted is None:
        raise AssignmentNotFound()
    buyer_id, group_id = deleted
    await emit(
        session,
        events.PriceListUnassigned(
            price_list_id=price_list.id,
            supplier_id=supplier_id,
            name=price_list.name,
            assignment_id=assignment_id,
            buyer_id=buyer_id,
            group_id=group_id,
        ),
    )


# --- a buyer's price list, cached -------------------------------------------------


@dataclass(frozen=True)
class BuyerPriceEntry:
    """The pricing generation and a buyer's entry, as one round trip read them."""

    generation: bytes | None
    entry: bytes | None


async def read_with_buyer_prices(
    cache: Cache, key: str, prices_key: str
) -> tuple[bytes | None, BuyerPriceEntry]:
    """Another cache entry (`key`: the product's shared detail, a search page) read in
    the same round trip as a buyer's price list choice (`prices_key`), for
    `buyer_price_list` and `buyer_price_lists` (`prefetched=`)."""
    value, generation, entry = await caching.read_many(
        cache, key, caching.PRICING_GENERATION_KEY, prices_key
    )
    return value, BuyerPriceEntry(generation, entry)


async def buyer_price_list(
    session: AsyncSession,
    cache: Cache,
    buyer_id: uuid.UUID,
    product_id: uuid.UUID,
    *,
    prefetched: BuyerPriceEntry | None = None,
) -> PriceListTiers | None:
    """The price list that prices the product for this buyer, or None, from the cache
    when this pricing generation has it (`caching.PRICING_GENERATION_KEY`).

    Cached because every signed-in buyer missed the anonymous cache: the detail came
    from the shared entry, but its price cost a statement through SQLAlchemy (about
    0.5 ms of CPU, a third of a signed-in detail's statements); the generation and the
    entry come back in one Redis round trip instead (bench/README.md, "Changes and
    their measured effect"). The entry is the buyer's own (its key names the buyer);
    a price list change retires every entry at once, a product change needs none (the
    price is computed from the product's current detail and the list's tiers)."""
    chosen = await buyer_price_lists(
        session,
        cache,
        buyer_id,
        caching.buyer_price_key(buyer_id, product_id),
        [product_id],
        prefetched=prefetched,
    )
    return chosen.get(product_id)


async def buyer_price_lists(
    session: AsyncSession,
    cache: Cache,
    buyer_id: uuid.UUID,
    key: str,
    product_ids: Sequence[uuid.UUID],
    *,
    prefetched: BuyerPriceEntry | None = None,
) -> dict[uuid.UUID, PriceListTiers]:
    """For each of the products, the price list that prices it for this buyer (those
    none prices are left out), kept under `key` (the buyer's own: it must name the buyer
    and the products, e.g. `caching.buyer_page_prices_key`) for this pricing generation.
    `prefetched`: the generation and the entry, read with something else."""
    if prefetched is None:
        generation, entry = await caching.read_many(cache, caching.PRICING_GENERATION_KEY, key)
    else:
        generation, entry = prefetched.generation, prefetched.entry
    if generation is not None and entry is not None:
        stored = orjson.loads(entry)
        if stored["generation"] == generation.decode():
            return {
                uuid.UUID(product_id): _decode_price_list(value)
                for product_id, value in stored["lists"].items()
            }
    if generation is None:
        # Stored before the database is read: a price list change committed meanwhile
        # deletes it after this read, so what this read stores is never current.
        generation = uuid.uuid4().hex.encode()
        await caching.store(
            cache, caching.PRICING_GENERATION_KEY, generation, caching.BUYER_PRICES_TTL_SECONDS
        )
    chosen = await repository.price_lists_for_buyer(session, buyer_id, product_ids)
    encoded = orjson.dumps(
        {
            "generation": generation.decode(),
            "lists": {
                str(product_id): _encode_price_list(price_list)
                for product_id, price_list in chosen.items()
            },
        }
    )
    await caching.store(cache, key, encoded, caching.BUYER_PRICES_TTL_SECONDS)
    return chosen


def _encode_price_list(chosen: PriceListTiers) -> dict[str, Any]:
    return {
        "id": str(chosen.price_list_id),
        "tiers": [[str(tier.min_qty), str(tier.unit_price)] for tier in chosen.tiers],
    }


def _decode_price_list(stored: dict[str, Any]) -> PriceListTiers:
    return PriceListTiers(
        price_list_id=uuid.UUID(stored["id"]),
        tiers=[
            Tier(min_qty=Decimal(min_qty), unit_price=Decimal(unit_price))
            for min_qty, unit_price in stored["tiers"]
        ],
    )


# --- pricing ----------------------------------------------------------------------

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceQuote:
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal
    source: Literal["tiers", "price_list"]
    tier_min_qty: Decimal
    price_list_id: uuid.UUID | None = None


def tier_errors(tiers: Sequence[Tier], moq: Decimal) -> list[dict[str, object]]:
    """Problems with a tier table, as `errors[]` entries (empty when valid)."""
    errors: list[dict[str, object]] = []

    def error(index: int | None, field: str, message: str) -> None:
        location: list[object] = ["body", "price_tiers"]
        if index is not None:
            location += [index, field]
        errors.append({"loc": location, "msg": message, "type": "value_error"})

    if not tiers:
        error(None, "", "at least one price tier is required")
        return errors
    for index, tier in enumerate(tiers):
        if tier.min_qty <= 0:
            error(index, "min_qty", "min_qty must be greater than zero")
        if tier.unit_price <= 0:
            error(index, "unit_price", "unit_price must be greater than zero")
        if index and tier.min_qty <= tiers[index - 1].min_qty:
            error(index, "min_qty", "min_qty must be strictly ascending")
    if tiers[0].min_qty > moq:
        error(0, "min_qty", "the first tier must start at or below the minimum order quantity")
    return errors


def validate_tiers(tiers: Sequence[Tier], moq: Decimal) -> None:
    errors = tier_errors(tiers, moq)
    if errors:
        raise InvalidPriceTiers(errors=errors)


def check_quantity(
    quantity: Decimal,
    moq: Decimal,
    order_multiple: Decimal | None,
    *,
    whole_unit: str | None = None,
) -> None:
    """Raise the 422 problem for a quantity that cannot be ordered. `whole_unit` names
    a countable unit (piece, box) whose quantities must be whole numbers."""
    if quantity <= 0:
        raise QuantityNotPositive()
    if whole_unit is not None and quantity != quantity.to_integral_value():
        raise QuantityNotWhole(quantity=_plain(quantity), unit=whole_unit)
    if quantity < moq:
        raise QuantityBelowMinimum(quantity=_plain(quantity), moq=_plain(moq))
    if order_multiple is not None and quantity % order_multiple != 0:
        raise QuantityNotMultiple(quantity=_plain(quantity), multiple=_plain(order_multiple))


def tier_for(tiers: Sequence[Tier], quantity: Decimal) -> Tier | None:
    """The applicable tier: the largest min_qty not above the quantity."""
    best: Tier | None = None
    for tier in tiers:
        if tier.min_qty <= quantity and (best is None or tier.min_qty > best.min_qty):
            best = tier
    return best


def quote(
    quantity: Decimal,
    *,
    moq: Decimal,
    order_multiple: Decimal | None,
    tiers: Sequence[Tier],
    price_list: PriceListTiers | None = None,
    whole_unit: str | None = None,
) -> PriceQuote:
    """Price `quantity` units for one buyer. Raises a 422 problem for a quantity that
    cannot be ordered (below MOQ, off the pack size, not positive, a fraction of a
    countable `whole_unit`)."""
    check_quantity(quantity, moq, order_multiple, whole_unit=whole_unit)
    if price_list is not None:
        listed = tier_for(price_list.tiers, quantity)
        if listed is not None:
            return _priced(quantity, listed, "price_list", price_list.price_list_id)
    tier = tier_for(tiers, quantity)
    if tier is None:
        raise InvalidPriceTiers()
    return _priced(quantity, tier, "tiers", None)


def _priced(
    quantity: Decimal,
    tier: Tier,
    source: Literal["tiers", "price_list"],
    price_list_id: uuid.UUID | None,
) -> PriceQuote:
    return PriceQuote(
        quantity=quantity,
        unit_price=tier.unit_price,
        line_total=(tier.unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP),
        source=source,
        tier_min_qty=tier.min_qty,
        price_list_id=price_list_id,
    )


def _plain(value: Decimal) -> str:
    """12.000 -> "12", 2.500 -> "2.5": quantities as people write them."""
    normalized = value.normalize()
    return format(normalized, "f")
