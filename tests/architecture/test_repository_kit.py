"""One repository kit (`core/repository.py`): keyset conditions, page assembly and
adding rows are written once. This walks the source and fails on
- a keyset condition written by hand: a row comparison `tuple_(...) < ...`, or its
  spelled-out form `or_(a < x, and_(a == x, id < y))` (use `keyset` / `past`);
- a page assembled by hand: `Page(...)`, `Page[T](...)` or `encode_cursor(...)` outside
  the kit (use `page_of`);
- a module other than a repository adding rows to the session or flushing it itself
  (`session.add`, `session.add_all`, `session.flush`: call the repository's `add`,
  `add_all`, `flush`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import marketplace

SOURCE = Path(marketplace.__file__).parent
# The kit itself, and where a page and its cursor are defined.
KIT = frozenset({"core/repository.py", "core/pagination.py"})
COMPARISONS = (ast.Lt, ast.Gt, ast.LtE, ast.GtE)

# Files not yet on the kit, each with what is left: none. Keep it empty; the test also
# fails when an entry here is on the kit already (or the file is gone).
KNOWN_OFF_KIT: dict[str, frozenset[str]] = {}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Subscript):  # Page[T](...)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_comparison(node: ast.AST) -> bool:
    return isinstance(node, ast.Compare) and isinstance(node.ops[0], COMPARISONS)


def _hand_keyset(node: ast.AST) -> bool:
    if _is_comparison(node):
        assert isinstance(node, ast.Compare)
        return _name(node.left) == "tuple_" and isinstance(node.left, ast.Call)
    if isinstance(node, ast.Call) and _name(node) == "or_":
        # or_(a < x, and_(a == x, b < y)): the same condition spelled out
        ands = [arg for arg in node.args if isinstance(arg, ast.Call) and _name(arg) == "and_"]
        return any(_is_comparison(arg) for arg in node.args) and any(
            any(
                isinstance(part, ast.Compare) and isinstance(part.ops[0], ast.Eq) for part in a.args
            )
            and any(_is_comparison(part) for part in a.args)
            for a in ands
        )
    return False


def _session_call(node: ast.AST) -> str | None:
    """ "session.add" for `session.add(...)` or `session.add_all(...)`, "session.flush"
    for `session.flush()`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "session"
    ):
        if node.func.attr in ("add", "add_all"):
            return "session.add"
        if node.func.attr == "flush":
            return "session.flush"
    return None


def off_kit(source: str, *, repository: bool) -> set[str]:
    """What `source` does by hand that the kit does: "keyset", "page", "session.add",
    "session.flush" (the last two only counted outside repositories)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if _hand_keyset(node):
            found.add("keyset")
        elif isinstance(node, ast.Call) and _name(node) in ("Page", "encode_cursor"):
            found.add("page")
        elif not repository and (call := _session_call(node)) is not None:
            found.add(call)
    return found


def _sources() -> Iterator[tuple[str, str]]:
    for path in sorted(SOURCE.rglob("*.py")):
        relative = str(path.relative_to(SOURCE))
        if relative.startswith("migrations/") or relative in KIT:
            continue
        yield relative, path.read_text()


def all_off_kit() -> dict[str, frozenset[str]]:
    found = {}
    for relative, source in _sources():
        # core/driver.py hands the session its rows from the database (`EntityQuery`):
        # machinery, not a service.
        is_repository = relative.endswith("repository.py") or relative == "core/driver.py"
        kinds = off_kit(source, repository=is_repository)
        if kinds:
            found[relative] = frozenset(kinds)
    return found


def test_repositories_and_services_use_the_kit() -> None:
    found = all_off_kit()
    new = {
        path: sorted(kinds - KNOWN_OFF_KIT.get(path, frozenset()))
        for path, kinds in found.items()
        if kinds - KNOWN_OFF_KIT.get(path, frozenset())
    }
    assert new == {}, "use core/repository.py: keyset, page_of, the repository's add/flush"
    done = {
        path: sorted(kinds - found.get(path, frozenset()))
        for path, kinds in KNOWN_OFF_KIT.items()
        if kinds - found.get(path, frozenset())
    }
    assert done == {}, "on the kit now: remove from KNOWN_OFF_KIT"


OFF_KIT_REPOSITORY = """
async def list_orders(session, who, after, limit):
    statement = orders_of(who)
    if after is not None:
        statement = statement.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
    return await session.scalars(statement.limit(limit))

async def list_spelled_out(session, who, after, limit):
    created_at, order_id = after
    return await session.scalars(
        orders_of(who).where(
            or_(Order.created_at < created_at,
                and_(Order.created_at == created_at, Order.id < order_id))
        )
    )
"""

OFF_KIT_SERVICE = """
async def list_orders(session, actor, limit, cursor):
    rows = await repository.list_orders(session, actor, decode_time_keyset(cursor), limit + 1)
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(rows[limit - 1].created_at.isoformat(), str(rows[-1].id))
    return Page[OrderRead](items=[read(row) for row in rows[:limit]], next_cursor=next_cursor)

async def create(session, body):
    session.add(Order(**body))
    await session.flush()

async def create_all(session, orders):
    session.add_all(orders)
"""

ON_KIT = """
async def list_orders(session, who, after, limit):
    statement = keyset(orders_of(who), (Order.created_at, Order.id), after, limit)
    return list(await session.scalars(statement))

async def cheap_or_recent(session, price, since):
    # not a keyset: a comparison on plain columns, and an or_ without the tie-break
    return await session.scalars(
        select(Order).where(or_(Order.total < price, Order.created_at > since))
    )

async def list_page(session, actor, limit, cursor):
    rows = await repository.list_orders(session, actor, decode_time_keyset(cursor), limit + 1)
    return page_of(rows, limit, OrderRead.model_validate)

async def create(session, body):
    await repository.add(session, Order(**body))
    await repository.flush(session)
"""


def test_the_check_catches_hand_written_pagination_and_adds() -> None:
    assert off_kit(OFF_KIT_REPOSITORY, repository=True) == {"keyset"}
    assert off_kit(OFF_KIT_SERVICE, repository=False) == {"page", "session.add", "session.flush"}
    # A repository adds rows to its session: that is its job.
    assert off_kit(OFF_KIT_SERVICE, repository=True) == {"page"}
    assert off_kit(ON_KIT, repository=False) == set()
