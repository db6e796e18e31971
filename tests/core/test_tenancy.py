"""The tenancy gate's conditions, for each kind of reader (compiled, no database)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql

from marketplace.audit.models import AuditEvent
from marketplace.catalog.models import Product
from marketplace.core.access import ANONYMOUS, ActingCompany, Actor, Principal, Viewer
from marketplace.core.tenancy import (
    changeable,
    may_change,
    may_change_cached,
    may_read,
    readable,
    readable_by,
    sides,
)
from marketplace.trade.models import Order

COMPANY = uuid.UUID("00000000-0000-0000-0000-0000000000c1")


def sql(condition: ColumnElement[bool]) -> str:
    return str(
        condition.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )


def actor() -> Actor:
    return Actor(
        principal=Principal(via="bearer", user_id=uuid.uuid4()),
        company=ActingCompany(id=COMPANY, kind="both", name="C", country="DE"),
        role="owner",
        scopes=frozenset(),
        actions=frozenset(),
    )


def test_an_actor_reads_its_company_rows_and_the_supplier_only_released_orders() -> None:
    text = sql(readable_by(Order, actor()))
    assert text == (
        f"orders.buyer_id = '{COMPANY}' OR orders.supplier_id = '{COMPANY}' "
        "AND orders.released_to_supplier_at IS NOT NULL"
    )
    assert sql(readable_by(Order, COMPANY)) == text  # a bare company id: the same gate
    assert sql(readable_by(Order, Viewer(principal=actor().principal, actor=actor()))) == text


def test_staff_reading_for_no_company_read_every_row() -> None:
    staff = Viewer(principal=Principal(via="bearer", user_id=uuid.uuid4(), is_staff=True))
    assert sql(readable_by(Order, staff)) == "true"


def test_nobody_reads_nothing_but_what_is_shared() -> None:
    assert sql(readable_by(Order, ANONYMOUS)) == "false"
    # A signed-in user acting for no company, not staff: the same.
    assert sql(readable_by(Order, Viewer(principal=Principal(via="cookie")))) == "false"
    shared = Product.status == "active"
    assert sql(readable_by(Product, ANONYMOUS, shared=shared)) == "products.status = 'active'"


def test_an_array_of_owners_reads_by_containment() -> None:
    assert sql(readable_by(AuditEvent, COMPANY)) == (
        f"audit_events.company_ids @> ARRAY['{COMPANY}']"
    )


def test_statements_are_narrowed_and_sides_are_named() -> None:
    statement = readable(select(Product.id), Product, COMPANY)
    assert "WHERE products.supplier_id = " in str(statement)
    assert "WHERE products.supplier_id = " in str(changeable(select(Product), Product, COMPANY))
    order = Order(buyer_id=COMPANY, supplier_id=uuid.uuid4())
    assert sides(order, actor()) == frozenset({"buyer_id"})
    assert sides(order, uuid.uuid4()) == frozenset()


def test_the_rule_on_a_row_read_agrees_with_the_condition() -> None:
    """`may_read` / `may_change`: the gate's rule on a row already read (the product
    statement built once at import), for each kind of reader."""
    other = uuid.uuid4()
    order = Order(buyer_id=COMPANY, supplier_id=other, released_to_supplier_at=None)
    assert may_read(order, actor())
    assert may_change(order, COMPANY)
    assert not may_read(order, other), "the supplier waits for the release"
    assert not may_change(order, other)
    staff = Viewer(principal=Principal(via="bearer", user_id=uuid.uuid4(), is_staff=True))
    assert may_read(order, staff)
    assert not may_read(order, ANONYMOUS)
    product = Product(supplier_id=other)
    assert not may_read(product, ANONYMOUS)
    assert may_read(product, ANONYMOUS, shared=True)
    assert not may_read(product, actor())
    assert may_read(product, other)
    event = AuditEvent(company_ids=[other, COMPANY])
    assert may_read(event, COMPANY)
    assert not may_read(event, uuid.uuid4())


def test_the_rule_on_cached_values_agrees_with_the_rule_on_the_row() -> None:
    """`may_change_cached`: the same rule on a row known only from a cache entry (a
    product's cached detail names its supplier), released orders and owner arrays too."""
    other = uuid.uuid4()
    assert may_change_cached(Product, {"supplier_id": COMPANY}, actor())
    assert not may_change_cached(Product, {"supplier_id": other}, actor())
    assert may_change_cached(Product, {"supplier_id": other}, other)
    for released in (None, "2026-12-07T10:00:00Z"):
        values = {"buyer_id": other, "supplier_id": COMPANY, "released_to_supplier_at": released}
        order = Order(buyer_id=other, supplier_id=COMPANY, released_to_supplier_at=released)
        assert may_change_cached(Order, values, COMPANY) == may_change(order, COMPANY)
        assert may_change_cached(Order, values, other) == may_change(order, other)
    assert not may_change_cached(Order, {**values, "released_to_supplier_at": None}, COMPANY)
    assert may_change_cached(AuditEvent, {"company_ids": [other, COMPANY]}, COMPANY)
    assert not may_change_cached(AuditEvent, {"company_ids": [other]}, COMPANY)
    with pytest.raises(KeyError):
        may_change_cached(Product, {}, COMPANY)  # a value left out is an error, not a "no"
