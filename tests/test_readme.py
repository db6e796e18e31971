"""The README a new user reads on a fresh clone: its links work, and it lists every
command of the CLI and every demo account `run.sh` prints."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from marketplace.cli import app
from marketplace.demo import BUYERS, STAFF_EMAIL, SUPPLIERS

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_links_point_at_files_inside_the_repository() -> None:
    checked = 0
    for document in _documents():
        for target in LINK.findall(document.read_text()):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            path = (document.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT), f"{document.name}: {target} leaves the repository"
            assert path.exists(), f"{document.name}: {target} does not exist"
            checked += 1
    assert checked >= 3


def test_readme_lists_every_command_of_the_cli() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert len(commands) >= 6
    for name in commands:
        assert f"| `{name}` |" in readme, f"`marketplace {name}` is not in the README"


def test_readme_lists_every_demo_account_with_its_role() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"| `{STAFF_EMAIL}` | platform staff |" in readme
    for spec in (*SUPPLIERS, *BUYERS):
        for person in spec.people:
            rows = [
                line for line in readme.splitlines() if line.startswith(f"| `{person.email}` |")
            ]
            assert len(rows) == 1, f"{person.email} is not in the README's table"
            described = rows[0].split("|")[2]
            assert described.strip().startswith(f"{person.role},"), rows[0]
            assert spec.name in described, rows[0]


def test_readme_states_the_sign_in_limit() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "5 codes per 15 minutes per address" in readme
