"""One tenancy gate: which rows of a company-owned table an actor may read or change.

A table whose rows belong to companies says so once, on its model:

    class Order(Base):
        __tenancy__ = Tenancy(
            owners=("buyer_id", "supplier_id"),
            # the supplier sees an order once the buyer's approval released it
            once={"supplier_id": "released_to_supplier_at"},
        )

and every repository query on it goes through `readable(...)` or `changeable(...)`
(or, for the few statements that are not anyone's request, e.g. a consumer or a
periodic job, `unscoped(..., reason=...)`); `tests/architecture/test_tenancy.py` fails
when one does not. Another company's row is then simply not found, so services turn
"none" into their 404 and never compare owner ids themselves (ids cannot be probed).

Who reads is the access model (`core.access`): an `Actor` reads and changes its
company's rows; a `Viewer` acting for a company reads like that actor, staff reading
without a company read every row, anyone else (anonymous, a user in several companies
who named none) reads only what `shared` discloses. A bare company id stands for that
company, for code that runs outside a request (consumers, jobs) on its behalf.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, Delete, Select, Update, false, or_, true
from sqlalchemy.types import ARRAY

from marketplace.core.access import Actor, Viewer


@dataclass(frozen=True)
class Tenancy:
    """Which columns name the companies a row belongs to.

    `owners`: any of them may read the row (a `uuid[]` column: any company listed);
    `changers`: which of those may change it (default: every owner); `once`: an owner
    column that reads only once another column is set (e.g. released to the supplier).
    """

    owners: tuple[str, ...]
    changers: tuple[str, ...] | None = None
    once: Mapping[str, str] = field(default_factory=dict)


class Tenanted(Protocol):
    __tenancy__: Tenancy


Who = Actor | Viewer | uuid.UUID
Statement = TypeVar("Statement", bound=Select[*tuple[Any, ...]] | Update | Delete)


def company_of(who: Who) -> uuid.UUID | None:
    """The company `who` acts for (None: anonymous, staff, or no company named)."""
    return who if isinstance(who, uuid.UUID) else who.company_id


def _owned_by(
    model: type[Tenanted], columns: tuple[str, ...], company_id: uuid.UUID
) -> ColumnElement[bool]:
    once = model.__tenancy__.once
    conditions: list[ColumnElement[bool]] = []
    for name in columns:
        column = getattr(model, name)
        condition = (
            column.contains([company_id])
            if isinstance(column.type, ARRAY)
            else column == company_id
        )
        if name in once:
            condition = condition & getattr(model, once[name]).is_not(None)
        conditions.append(condition)
    return or_(*conditions)


def readable_by(
    model: type[Tenanted], who: Who, *, shared: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """The condition for the rows of `model` that `who` may read: its company's, and
    those `shared` discloses to anyone (published products, public RFQs)."""
    if isinstance(who, Viewer) and who.reads_everything:
        return true()
    company_id = company_of(who)
    if company_id is None:
        return shared if shared is not None else false()
    owned = _owned_by(model, model.__tenancy__.owners, company_id)
    return owned if shared is None else or_(owned, shared)


def changeable_by(model: type[Tenanted], who: Actor | uuid.UUID) -> ColumnElement[bool]:
    """The condition for the rows of `model` that `who` may change."""
    tenancy = model.__tenancy__
    company_id = company_of(who)
    assert company_id is not None
    return _owned_by(model, tenancy.changers or tenancy.owners, company_id)


def _owned(
    tenancy: Tenancy,
    value_of: Callable[[str], Any],
    columns: tuple[str, ...],
    company_id: uuid.UUID,
) -> bool:
    """Whether the row whose column values `value_of` gives belongs to the company."""
    for name in columns:
        value = value_of(name)
        owned = company_id in value if isinstance(value, list) else value == company_id
        if owned and (name not in tenancy.once or value_of(tenancy.once[name]) is not None):
            return True
    return False


def _row_owned_by(row: Tenanted, columns: tuple[str, ...], company_id: uuid.UUID) -> bool:
    return _owned(type(row).__tenancy__, partial(getattr, row), columns, company_id)


def may_read(row: Tenanted, who: Who, *, shared: bool = False) -> bool:
    """`readable_by`'s rule on a row already read, for the few statements built once
    at import (a measured saving) that cannot take the gate's condition: they read
    through `unscoped(...)` and hand the row to this before anyone sees it."""
    if isinstance(who, Viewer) and who.reads_everything:
        return True
    company_id = company_of(who)
    if company_id is None:
        return shared
    return shared or _row_owned_by(row, type(row).__tenancy__.owners, company_id)


def may_change(row: Tenanted, who: Actor | uuid.UUID) -> bool:
    """`changeable_by`'s rule on a row already read (see `may_read`)."""
    tenancy = type(row).__tenancy__
    company_id = company_of(who)
    assert company_id is not None
    return _row_owned_by(row, tenancy.changers or tenancy.owners, company_id)


def may_change_cached(
    model: type[Tenanted], values: Mapping[str, Any], who: Actor | uuid.UUID
) -> bool:
    """`may_change`'s rule on a row known only by its column values, as a cache entry
    holds them (a product's cached detail names its supplier): the cache's fast path
    decides as the gate does, without reading the row. `values` must name every owner
    column of `model` the rule looks at (a missing one is a KeyError, not a "no")."""
    tenancy = model.__tenancy__
    company_id = company_of(who)
    assert company_id is not None
    return _owned(tenancy, values.__getitem__, tenancy.changers or tenancy.owners, company_id)


def readable(
    statement: Statement,
    model: type[Tenanted],
    who: Who,
    *,
    shared: ColumnElement[bool] | None = None,
) -> Statement:
    """`statement` narrowed to the rows of `model` that `who` may read."""
    return cast(Statement, statement.where(readable_by(model, who, shared=shared)))


def changeable(statement: Statement, model: type[Tenanted], who: Actor | uuid.UUID) -> Statement:
    """`statement` narrowed to the rows of `model` that `who` may change."""
    return cast(Statement, statement.where(changeable_by(model, who)))


def sides(row: Tenanted, who: Actor | uuid.UUID) -> frozenset[str]:
    """Which owner columns of a row (read through the gate) name `who`'s company, e.g.
    {"buyer_id"}: the side it acts on, for rules that differ by side (only the buyer
    reviews, only the supplier records payments)."""
    company_id = company_of(who)
    return frozenset(
        name for name in type(row).__tenancy__.owners if getattr(row, name) == company_id
    )


def unscoped(statement: Statement, *, reason: str) -> Statement:
    """A statement on a tenant-owned table that no actor's gate applies to, with the
    reason (a consumer, a job, a lookup by an id already gated); the tenancy check in
    the test suite accepts it, and the reason says why to a reviewer."""
    assert reason
    return statement
