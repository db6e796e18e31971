"""`.env.example` documents every setting, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from marketplace.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def documented_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_env_example_lists_exactly_the_settings() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert documented_names() == fields


def test_env_example_loads_as_valid_settings(tmp_path: Path) -> None:
    Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
