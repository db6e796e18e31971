"""One tenancy gate: every query on a table whose rows belong to companies goes
through `core.tenancy` (`readable`, `changeable`, their conditions `readable_by` and
`changeable_by`, or `unscoped` with its reason). This walks the source and fails when a
`select`, `update` or `delete` names a tenant-owned model (one that declares
`__tenancy__`) in a statement that does not pass through the gate."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import marketplace
import marketplace.all_models  # every table mapped
from marketplace.core.db import Base
from marketplace.core.tenancy import Tenancy

SOURCE = Path(marketplace.__file__).parent
QUERIES = frozenset({"select", "update", "delete"})
# A subquery correlated to its outer query (per product: its tiers, its thumbnail) is
# part of a query that passes the gate, not a query of its own.
CORRELATED = frozenset({"correlate", "lateral"})
GATES = frozenset({"readable", "changeable", "readable_by", "changeable_by", "unscoped"})

# Queries not yet moved onto the gate (path::function), each with why. Shrink it, never
# grow it: the test also fails when an entry here passes the gate already (or is gone).
KNOWN_UNGATED: dict[str, str] = {}

# Tables with a column naming a company that do not declare `__tenancy__`, each with
# why. A new such table must either declare its owners or be listed here.
NOT_TENANT_OWNED: dict[str, str] = {
    # Rows reached only through a tenant-owned parent read through the gate.
    "order_transitions": "an order's history, read through its order",
    "messages": "a thread's messages, read through their thread",
    "rfq_invitations": "an RFQ's invited suppliers, read through the RFQ",
    "buyer_group_members": "a buyer group's members, read through the group",
    "price_list_assignments": "a price list's buyers, read through the list",
    "invoice_counters": "a supplier's invoice number sequence, no reader",
    # The companies domain: every route is `ActingForPath` on the company itself.
    "memberships": "companies: the path's company, resolved by companies.deps",
    "invitations": "companies: the path's company",
    "company_addresses": "companies: the path's company",
    "company_verification_events": "companies: the path's company",
    "api_keys": "identity: the acting company's keys, by companies.deps",
    "purchasing_policies": "the acting buyer's own policy, by its company id",
    "carts": "the acting buyer's own cart, by its company id",
    "reviews": "public once written; only the order's buyer writes one (orders gate)",
    "notifications": "a user's inbox, by user id",
    "outbox_events": "the event machinery; what each company sees is DomainEvent.view",
}


def tenanted_models() -> dict[str, Tenancy]:
    return {
        mapper.class_.__name__: mapper.class_.__tenancy__
        for mapper in Base.registry.mappers
        if isinstance(getattr(mapper.class_, "__tenancy__", None), Tenancy)
    }


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _calls(node: ast.AST) -> list[ast.Call]:
    return [child for child in ast.walk(node) if isinstance(child, ast.Call)]


def _functions(tree: ast.AST) -> Iterator[tuple[str, list[ast.stmt]]]:
    """Each function's simple statements in order (and the module's own, "<module>")."""

    def simple(node: ast.AST) -> Iterator[ast.stmt]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(child, ast.stmt) and not hasattr(child, "body"):
                yield child
            else:
                yield from simple(child)

    yield "<module>", list(simple(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, list(simple(node))


def gate_wrappers(source: str, gates: frozenset[str] = GATES) -> set[str]:
    """Functions that return a gated statement (`orders_of`, `visible_products`): a
    statement built on one of them passes the gate too."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            returns = [child for child in ast.walk(node) if isinstance(child, ast.Return)]
            if any(_name(call) in gates for r in returns for call in _calls(r)):
                found.add(node.name)
    return found


def ungated_queries(
    source: str, models: frozenset[str], gates: frozenset[str] = GATES
) -> list[str]:
    """The functions of `source` with a query naming one of `models` that does not pass
    the gate: neither in the statement itself, nor (for a statement assigned to a name)
    by handing that name to the gate later in the same function."""
    found = []
    for function, statements in _functions(ast.parse(source)):
        pending: set[str] = set()
        ungated = False
        for statement in statements:
            calls = _calls(statement)
            gating = [call for call in calls if _name(call) in gates]
            pending -= {
                argument.id
                for call in gating
                for argument in [*call.args, *(keyword.value for keyword in call.keywords)]
                if isinstance(argument, ast.Name)
            }
            is_query = any(_name(call) in QUERIES for call in calls) or any(
                _name(call) == "get" and call.args and isinstance(call.args[0], ast.Name)
                for call in calls  # session.get(Model, id): a read by primary key
            )
            names_model = any(
                isinstance(node, ast.Name) and node.id in models for node in ast.walk(statement)
            )
            correlated = any(_name(call) in CORRELATED for call in calls)
            if not (is_query and names_model) or gating or correlated:
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else []
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                pending.add(targets[0].id)
            else:
                ungated = True
        if ungated or pending:
            found.append(function)
    return found


def all_ungated() -> set[str]:
    models = frozenset(tenanted_models())
    sources = {
        str(path.relative_to(SOURCE)): path.read_text()
        for path in sorted(SOURCE.rglob("*.py"))
        if path.relative_to(SOURCE).parts[0] != "migrations"
        and str(path.relative_to(SOURCE)) != "core/tenancy.py"
    }
    gates = frozenset(GATES.union(*(gate_wrappers(source) for source in sources.values())))
    return {
        f"{relative}::{function}"
        for relative, source in sources.items()
        for function in ungated_queries(source, models, gates)
    }


def test_every_query_on_a_tenant_table_passes_the_gate() -> None:
    ungated = all_ungated()
    assert sorted(ungated - set(KNOWN_UNGATED)) == [], "query tenant tables through the gate"
    assert sorted(set(KNOWN_UNGATED) - ungated) == [], "gated now: remove from KNOWN_UNGATED"


UNGATED_EXAMPLE = """
async def foreign_order(session, order_id):
    return await session.scalar(select(Order).where(Order.id == order_id))

async def count(session, company_id):
    return await session.scalar(select(func.count()).select_from(Order))

async def cancel(session, order_id):
    await session.execute(update(Order).where(Order.id == order_id).values(status="x"))

async def raw_owner_filter(session, company_id):
    return await session.scalar(select(func.count()).where(Order.buyer_id == company_id))

async def by_primary_key(session, order_id):
    return await session.get(Order, order_id)

async def built_but_never_gated(session, company_id):
    statement = select(Order.id).where(Order.status == "placed")
    return await session.scalars(statement.limit(10))
"""

GATED_EXAMPLE = """
async def own_order(session, actor, order_id):
    return await session.scalar(readable(select(Order), Order, actor).where(Order.id == order_id))

async def cancel(session, actor, order_id):
    await session.execute(changeable(update(Order), Order, actor).where(Order.id == order_id))

async def by_condition(session, actor):
    return await session.scalars(select(Order.id).where(readable_by(Order, actor)))

async def job(session):
    return await session.scalars(unscoped(select(Order), reason="the nightly job"))

async def other_table(session):
    return await session.scalars(select(Product))

async def built_then_gated(session, actor):
    statement = select(Order.id).join(Product, Product.id == Order.product_id)
    return await session.scalars(readable(statement, Order, actor))

def orders_of(who):
    return readable(select(Order), Order, who)

async def through_a_wrapper(session, who):
    return await session.scalars(orders_of(who).where(Order.status == "placed"))
"""


def test_the_check_catches_an_ungated_query() -> None:
    models = frozenset({"Order"})
    assert ungated_queries(UNGATED_EXAMPLE, models) == [
        "foreign_order",
        "count",
        "cancel",
        "raw_owner_filter",
        "by_primary_key",
        "built_but_never_gated",
    ]
    assert "orders_of" in gate_wrappers(GATED_EXAMPLE)
    assert "other_table" not in gate_wrappers(GATED_EXAMPLE)
    gates = GATES | gate_wrappers(GATED_EXAMPLE)
    assert ungated_queries(GATED_EXAMPLE, models, gates) == []


def test_tenancy_declarations_name_real_columns() -> None:
    for name, tenancy in tenanted_models().items():
        model = next(m.class_ for m in Base.registry.mappers if m.class_.__name__ == name)
        columns = set(model.__table__.columns.keys())
        named = set(tenancy.owners) | set(tenancy.changers or ()) | set(tenancy.once)
        named |= set(tenancy.once.values())
        assert named <= columns, name
        assert set(tenancy.changers or ()) <= set(tenancy.owners), name


def test_every_table_naming_a_company_declares_its_owners_or_says_why_not() -> None:
    """A new table with a company column must decide: `__tenancy__`, or a reason here."""
    undecided = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        names_company = any(
            foreign_key.column.table.name == "companies"
            for column in table.columns
            for foreign_key in column.foreign_keys
        ) or any(column.name.endswith("company_ids") for column in table.columns)
        declared = isinstance(getattr(mapper.class_, "__tenancy__", None), Tenancy)
        if names_company and not declared and table.name not in NOT_TENANT_OWNED:
            undecided.append(table.name)
    assert undecided == []
    declared_tables = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if isinstance(getattr(mapper.class_, "__tenancy__", None), Tenancy)
    }
    assert declared_tables.isdisjoint(NOT_TENANT_OWNED)
