"""The package layers of src/marketplace hold (docs/architecture.md, "Layers").

`lint-imports` checks the contracts in pyproject.toml's `[tool.importlinter]` in
scripts/test.sh; these tests run the same check in-process, and name any cycle between
the top-level packages (imports under `if TYPE_CHECKING:` included) with the imports
that make it, so that a new one fails the suite and says where to look.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def package_cycles(graph: grimp.ImportGraph, root: str) -> list[list[str]]:
    """Groups of children of `root` that import each other, directly or through other
    children (the strongly connected components of more than one child), sorted."""
    children = sorted(graph.find_children(root))
    imports = {
        child: [
            other
            for other in children
            if other != child
            and graph.direct_import_exists(importer=child, imported=other, as_packages=True)
        ]
        for child in children
    }
    # Tarjan's algorithm.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for child in children:
        if child not in index:
            visit(child)
    return sorted(groups)


def describe(graph: grimp.ImportGraph, group: list[str]) -> list[str]:
    """Each import from one member of a cycle into another, as `importer -> imported`."""

    def inside(package: str) -> set[str]:
        return {package} | (graph.find_descendants(package) if "." in package else set())

    lines = set()
    for importer in group:
        for module in inside(importer):
            for imported in graph.find_modules_directly_imported_by(module):
                if any(
                    imported == other or imported.startswith(other + ".")
                    for other in group
                    if other != importer
                ):
                    lines.add(f"{module} -> {imported}")
    return sorted(lines)


def test_no_cycle_between_the_top_level_packages() -> None:
    graph = grimp.build_graph("marketplace", exclude_type_checking_imports=False, cache_dir=None)
    assert len(graph.find_children("marketplace")) > 20  # the whole package was read
    cycles = package_cycles(graph, "marketplace")
    assert cycles == [], {" <-> ".join(group): describe(graph, group) for group in cycles}


def test_the_import_contracts_are_kept() -> None:
    configuration.configure()  # what the `lint-imports` command does first
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_cycle_hidden_behind_type_checking_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself: two packages that import each other, one of them only for type
    checking, are a cycle; a third that only imports them is not part of it."""
    _write(
        tmp_path,
        {
            "layered/__init__.py": "",
            "layered/low/__init__.py": "",
            "layered/low/service.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from layered.high.deps import Thing
            """,
            "layered/high/__init__.py": "",
            "layered/high/deps.py": "from layered.low import service\n",
            "layered/top.py": "import layered.high.deps\nimport layered.low.service\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("layered", exclude_type_checking_imports=False, cache_dir=None)
    assert package_cycles(graph, "layered") == [["layered.high", "layered.low"]]
    assert describe(graph, ["layered.high", "layered.low"]) == [
        "layered.high.deps -> layered.low.service",
        "layered.low.service -> layered.high.deps",
    ]
    # Without the type-checking import the packages are layered.
    graph = grimp.build_graph("layered", exclude_type_checking_imports=True, cache_dir=None)
    assert package_cycles(graph, "layered") == []
