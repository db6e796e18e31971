"""One access model: dependencies build who is acting (`core.access`), services only
receive it. A module other than a dependency or a router that imports a `deps` module
would start building or re-reading it, so this fails."""

from __future__ import annotations

import ast
from pathlib import Path

import marketplace

SOURCE = Path(marketplace.__file__).parent
# Files that may import dependencies: the dependencies themselves, routers, the app.
MAY_IMPORT_DEPS = frozenset({"deps.py", "router.py"})
WIRING = frozenset({"app.py"})


def deps_imports(source: str) -> list[str]:
    """The `deps` modules a module's source imports (`marketplace.x.deps`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [
            name for name in names if name.startswith("marketplace.") and name.endswith(".deps")
        ]
    return found


def offenders() -> dict[str, list[str]]:
    result = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] in ("core", "migrations"):
            continue  # core's own dependencies (core.deps) are machinery, not the access model
        if path.name in MAY_IMPORT_DEPS or str(relative) in WIRING:
            continue
        imported = deps_imports(path.read_text())
        if imported:
            result[str(relative)] = imported
    return result


def test_no_service_imports_a_deps_module() -> None:
    assert offenders() == {}


def test_the_check_catches_a_service_importing_deps() -> None:
    service = "from marketplace.companies.deps import Actor\nimport marketplace.identity.deps\n"
    assert deps_imports(service) == ["marketplace.companies.deps", "marketplace.identity.deps"]
    assert deps_imports("from marketplace.core.access import Actor\n") == []


def test_there_is_one_definition_of_who_is_acting() -> None:
    """`Principal`, `Actor` and `Viewer` are defined in core/access.py and nowhere else."""
    defined: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in {"Principal", "Actor", "Viewer"}:
                defined.setdefault(node.name, []).append(str(path.relative_to(SOURCE)))
    assert defined == {name: ["core/access.py"] for name in ("Principal", "Actor", "Viewer")}
