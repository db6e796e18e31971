"""`.env.example` documents every setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from marketplace.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def documented_names(*, assigned_only: bool = False) -> set[str]:
    """The names the file documents; with `assigned_only`, those it sets (uncommented)."""
    pattern = r"^([A-Z][A-Z0-9_]+)=" if assigned_only else r"^#?\s*([A-Z][A-Z0-9_]+)="
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(pattern, line)
        if match:
            names.add(match.group(1))
    return names


def test_env_example_lists_exactly_the_settings() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert documented_names() == fields


def names_set_to_their_default() -> set[str]:
    """The names the file sets under a comment that ends in "Default: ...", lower case."""
    names = set()
    comment = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("#"):
            comment = line
            continue
        match = re.match(r"^([A-Z][A-Z0-9_]+)=", line)
        if match and "Default: " in comment:
            names.add(match.group(1).lower())
        comment = ""
    return names


def test_env_example_loads_as_valid_settings() -> None:
    """As shipped it is read (every value it sets reaches the settings), and each value
    whose comment states the default is that default."""
    loaded = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assigned = {name.lower() for name in documented_names(assigned_only=True)}
    assert assigned <= loaded.model_fields_set
    stated = names_set_to_their_default()
    assert len(stated) > 40
    assert {name: getattr(loaded, name) for name in stated} == {
        name: getattr(defaults, name) for name in stated
    }
