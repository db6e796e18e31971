"""Lines below the configured level cost nothing: structlog drops them before any
processor runs, and they never reach the output."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
import structlog

from marketplace.core.logging import configure_logging, get_logger
from tests.conftest import make_settings


def test_a_line_below_the_level_runs_no_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(make_settings(log_level="WARNING", log_format="json"))
    ran: list[str] = []

    def spy(_logger: Any, _method: str, event_dict: Any) -> Any:
        ran.append(event_dict["event"])
        return event_dict

    processors = structlog.get_config()["processors"]
    # The spy right after the level filter: it sees exactly the lines that pass it.
    structlog.configure(processors=[processors[0], spy, *processors[1:]])
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    try:
        logger = get_logger("marketplace.test.level")
        logger.info("dropped.line", detail=1)
        logger.warning("kept.line", detail=2)
    finally:
        configure_logging(make_settings())
    assert ran == ["kept.line"]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["kept.line"]
