"""Expand and contract, checked on the migrations' source: a migration whose upgrade
drops or renames a table or column, or adds a NOT NULL column without a server default,
breaks the previous release's code unless that code no longer uses what it touches.
Such a migration is a contract step and says what it removes in a module constant:

    CONTRACT = ("orders.legacy_note",)   # "table.column", or "table"

A removed or renamed column is named `table.column`; a dropped or renamed table, and a
table that gains a NOT NULL column without a default (the previous release's inserts
would omit it), by its name. The check:
- every such operation in `upgrade()` is named in CONTRACT (the step is marked);
- the migrations that are new since the previous release (this release's) contract
  only what the previous release's models no longer map: read from its code, in git.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from marketplace.core.migrations import MIGRATIONS_DIR, known_revisions
from tests.operations.previous_release import Release

VERSIONS = MIGRATIONS_DIR / "versions"

_DROP_TABLE = re.compile(r"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)", re.I)
_ALTER_TABLE = re.compile(
    r"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(\w+)\s+(.*)", re.I | re.S
)
_DROP_COLUMN = re.compile(r"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(\w+)", re.I)
_RENAME_COLUMN = re.compile(r"\bRENAME\s+(?:COLUMN\s+)?(\w+)\s+TO\b", re.I)
_RENAME_TABLE = re.compile(r"\bRENAME\s+TO\b", re.I)
_DROP_CONSTRAINT = re.compile(r"\bDROP\s+CONSTRAINT\b", re.I)


class Migration:
    def __init__(self, source: str, name: str) -> None:
        self.name = name
        self.tree = ast.parse(source)
        self.constants: dict[str, object] = {}
        for node in self.tree.body:
            targets = (
                [node.target]
                if isinstance(node, ast.AnnAssign) and node.value is not None
                else node.targets
                if isinstance(node, ast.Assign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Name):
                    try:
                        value = node.value
                        assert value is not None
                        self.constants[target.id] = ast.literal_eval(value)
                    except ValueError:
                        continue

    @property
    def revision(self) -> str:
        return str(self.constants["revision"])

    @property
    def contract(self) -> set[str]:
        return set(self.constants.get("CONTRACT", ()))  # type: ignore[call-overload]

    def _text(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and isinstance(self.constants.get(node.id), str):
            return str(self.constants[node.id])
        return None

    def _upgrade_calls(self) -> Iterator[ast.Call]:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "upgrade":
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                        yield call

    def destructive(self) -> list[str]:
        """What upgrade() drops, renames or makes the previous release's inserts fail on,
        as CONTRACT names it; `?...` where the target cannot be read."""
        touched: list[str] = []
        for call in self._upgrade_calls():
            assert isinstance(call.func, ast.Attribute)
            operation = call.func.attr
            names = [self._text(argument) for argument in call.args]
            keywords = {keyword.arg: keyword.value for keyword in call.keywords}
            line = f"?line {call.lineno}: {operation}"
            if operation in {"drop_table", "rename_table"}:
                touched.append(names[0] if names and names[0] else line)
            elif operation == "drop_column" or (
                operation == "alter_column" and "new_column_name" in keywords
            ):
                table, column = [*names, None, None][:2]
                touched.append(f"{table}.{column}" if table and column else line)
            elif operation == "add_column" and len(call.args) > 1:
                column = call.args[1]
                if isinstance(column, ast.Call) and _not_null_without_default(column):
                    touched.append(names[0] or line)
            elif operation == "execute" and call.args:
                statement = self._text(call.args[0])
                if statement is None:
                    continue  # built SQL (functions, triggers): not schema removal
                touched.extend(_removed_by_sql(statement))
        return touched


def _not_null_without_default(column: ast.Call) -> bool:
    keywords = {keyword.arg: keyword.value for keyword in column.keywords}
    nullable = keywords.get("nullable")
    not_null = isinstance(nullable, ast.Constant) and nullable.value is False
    default = keywords.get("server_default")
    has_default = default is not None and not (
        isinstance(default, ast.Constant) and default.value is None
    )
    return not_null and not has_default


def _removed_by_sql(statement: str) -> list[str]:
    touched = [match[1] for match in _DROP_TABLE.finditer(statement)]
    for match in _ALTER_TABLE.finditer(statement):
        table, rest = match[1], match[2]
        rest = _DROP_CONSTRAINT.sub("", rest)
        touched += [f"{table}.{column}" for column in _DROP_COLUMN.findall(rest)]
        touched += [f"{table}.{column}" for column in _RENAME_COLUMN.findall(rest)]
        if _RENAME_TABLE.search(rest):
            touched.append(table)
    return touched


def unmarked(migration: Migration) -> list[str]:
    """Destructive operations CONTRACT does not name; one whose target the check cannot
    read (a variable, not a literal) never counts as named."""
    return [
        item
        for item in migration.destructive()
        if item.startswith("?") or item not in migration.contract
    ]


def still_used(migration: Migration, previous_models: dict[str, list[str]]) -> list[str]:
    """CONTRACT names the previous release's models still map."""
    used = []
    for item in sorted(migration.contract):
        table, _, column = item.partition(".")
        if table in previous_models and (not column or column in previous_models[table]):
            used.append(item)
    return used


def models_of(release: Release) -> dict[str, list[str]]:
    """Every table and column the release's models map, read by its own code."""
    program = (
        "import json; from marketplace.all_models import Base; "
        "print(json.dumps({t.name: [c.name for c in t.columns] "
        "for t in Base.metadata.tables.values()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env={"PYTHONPATH": str(release.src), "PATH": ""},
        capture_output=True,
        check=True,
    )
    models: dict[str, list[str]] = json.loads(done.stdout)
    return models


def migrations() -> list[Migration]:
    return [Migration(path.read_text(), path.name) for path in sorted(VERSIONS.glob("*.py"))]


@pytest.fixture(scope="module")
def previous_models(previous_release: Release) -> dict[str, list[str]]:
    return models_of(previous_release)


@pytest.mark.parametrize("migration", migrations(), ids=lambda migration: migration.name)
def test_every_contract_step_is_marked(migration: Migration) -> None:
    assert unmarked(migration) == [], (
        f"{migration.name} removes what the previous release may use: make it a contract "
        "step (CONTRACT = (...)) one release after the code stopped using it"
    )


def test_this_releases_contract_steps_remove_only_what_the_previous_release_left(
    previous_release: Release, previous_models: dict[str, list[str]]
) -> None:
    shipped = {migration.revision for migration in migrations()}
    assert shipped == known_revisions()
    new = [
        migration
        for migration in migrations()
        if migration.revision not in previous_release.revisions
    ]
    assert new, "today's code has no migration the previous release lacks"
    for migration in new:
        assert still_used(migration, previous_models) == [], migration.name
    assert previous_models["products"], "the previous release's models were read"


PLANTED_HEADER = """
import sqlalchemy as sa
from alembic import op

revision = "9999_planted"
down_revision = "0001_baseline"
"""


def planted(body: str, contract: str = "") -> Migration:
    upgrade = "\n".join(f"    {line}" for line in body.strip().splitlines())
    return Migration(
        f"{PLANTED_HEADER}{contract}\n\ndef upgrade() -> None:\n{upgrade}\n", "planted"
    )


@pytest.mark.parametrize(
    ("body", "touched"),
    [
        ('op.drop_column("orders", "notes")', ["orders.notes"]),
        ('op.drop_table("order_lines")', ["order_lines"]),
        ('op.alter_column("orders", "notes", new_column_name="remarks")', ["orders.notes"]),
        ('op.rename_table("orders", "purchase_orders")', ["orders"]),
        (
            'op.add_column("orders", sa.Column("channel", sa.Text(), nullable=False))',
            ["orders"],
        ),
        ('op.execute("ALTER TABLE orders DROP COLUMN notes")', ["orders.notes"]),
        ('op.execute("ALTER TABLE orders RENAME COLUMN notes TO remarks")', ["orders.notes"]),
        ('op.execute("DROP TABLE IF EXISTS order_lines")', ["order_lines"]),
        ('op.execute("ALTER TABLE orders RENAME TO purchase_orders")', ["orders"]),
        ("table = 'orders'\nop.drop_column(table, 'notes')", ["?line 11: drop_column"]),
    ],
)
def test_a_planted_unmarked_contract_step_is_caught(body: str, touched: list[str]) -> None:
    assert unmarked(planted(body)) == touched
    assert unmarked(planted(body, f"CONTRACT = {tuple(touched)!r}")) == (
        touched if touched[0].startswith("?") else []
    )


@pytest.mark.parametrize(
    "body",
    [
        'op.add_column("orders", sa.Column("channel", sa.Text(), nullable=True))',
        'op.add_column("orders", sa.Column("channel", sa.Text(), server_default="",'
        " nullable=False))",
        'op.create_table("t", sa.Column("id", sa.Integer(), nullable=False))',
        'op.execute("ALTER TABLE orders DROP CONSTRAINT ck_orders_total")',
        'op.alter_column("orders", "notes", server_default="")',
        'op.create_index("ix_orders_notes", "orders", ["notes"])',
    ],
)
def test_expand_steps_need_no_mark(body: str) -> None:
    assert unmarked(planted(body)) == []


def test_a_contract_step_may_not_remove_what_the_previous_release_maps(
    previous_models: dict[str, list[str]],
) -> None:
    in_use = planted('op.drop_column("products", "name")', 'CONTRACT = ("products.name",)')
    assert unmarked(in_use) == []
    assert still_used(in_use, previous_models) == ["products.name"]
    whole_table = planted('op.drop_table("orders")', 'CONTRACT = ("orders",)')
    assert still_used(whole_table, previous_models) == ["orders"]
    left_behind = planted(
        'op.drop_column("products", "legacy_note")', 'CONTRACT = ("products.legacy_note",)'
    )
    assert still_used(left_behind, previous_models) == []
