"""Inside a domain's package the file names are fixed (CONVENTIONS.md, "Layout"), so a
reader always knows where to look: the catalog's parts (`price_lists/`, `categories/`,
`search/`, `imports/`) hold only these files, each part's rules in its `service.py`, its
queries in its `repository.py` and so on. This fails when one grows a file of another
name or a package of its own."""

from __future__ import annotations

from pathlib import Path

import marketplace

SOURCE = Path(marketplace.__file__).parent
FIXED_NAMES = frozenset(
    {
        "__init__.py",
        "models.py",
        "schemas.py",
        "repository.py",
        "service.py",
        "router.py",
        "deps.py",
        "errors.py",
        "events.py",
        "consumers.py",
    }
)


def parts_of(package: Path) -> list[str]:
    return sorted(
        path.name for path in package.iterdir() if path.is_dir() and path.name != "__pycache__"
    )


def unfixed_files(package: Path) -> list[str]:
    """The files of `package`'s parts (its subpackages) whose names are not fixed ones,
    and any file in a package nested below a part, relative to `package`."""
    found = []
    for part in parts_of(package):
        for path in sorted((package / part).rglob("*.py")):
            relative = path.relative_to(package)
            if len(relative.parts) > 2 or path.name not in FIXED_NAMES:
                found.append(relative.as_posix())
    return found


def test_the_catalog_parts_use_only_the_fixed_file_names() -> None:
    catalog = SOURCE / "catalog"
    assert parts_of(catalog) == ["categories", "imports", "price_lists", "search"]
    assert unfixed_files(catalog) == []


def test_the_check_catches_a_file_of_another_name(tmp_path: Path) -> None:
    part = tmp_path / "catalog" / "price_lists"
    (part / "nested").mkdir(parents=True)
    for name in ("__init__.py", "service.py", "pricing.py", "nested/router.py"):
        (part / name).write_text("")
    assert unfixed_files(tmp_path / "catalog") == [
        "price_lists/nested/router.py",
        "price_lists/pricing.py",
    ]
