"""Error reports to Sentry (when SENTRY_DSN is set), with no personal data or credentials.

sentry-sdk 3 decides what it collects by kind (`data_collection`): here no user, no
cookies, no request bodies, no query strings, no local variables of stack frames, no
database query parameters, and of the request headers only the harmless ones named
below (every other header is sent as `[Filtered]`). What remains is text the
application wrote: exception messages and log lines (breadcrumbs). `scrub_event`
removes e-mail addresses and credentials from every string of the event before it
leaves the process, since a message such as "no user for jane@example.com" is written
in good faith.

Each event carries the request id (tag `request_id`, set by the request-context
middleware), the environment and the release.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from marketplace import __version__
from marketplace.settings import Settings

if TYPE_CHECKING:
    from sentry_sdk._types import DataCollectionUserOptions, Event, Hint

REQUEST_ID_TAG = "request_id"
_enabled = False  # set by init_error_tracking once a DSN is configured
FILTERED = "[Filtered]"

# Matched as substrings of the lower-cased header name (sentry-sdk's allowlist mode).
HARMLESS_REQUEST_HEADERS = [
    "accept",
    "content-length",
    "content-type",
    "host",
    "user-agent",
    "x-company-id",
    "x-request-id",
]

DATA_COLLECTION: DataCollectionUserOptions = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "allowlist", "terms": HARMLESS_REQUEST_HEADERS}},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
    "mcp": {"inputs": False, "outputs": False},
}

# The domain ends in letters: `b2b-marketplace@0.1.0` (the release) is no address.
_EMAIL = re.compile(r"[\w.+%-]+@(?:[\w-]+\.)+[A-Za-z]{2,}\b")
# A credential named in text: "Bearer <token>", "access_token=<token>", "password: x".
_CREDENTIAL = re.compile(
    r"(?i)(\bbearer\s+|\b(?:access_token|refresh_token|token|secret|password|api_key)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;]+"
)
# Source lines of stack frames: the program's text, not data (and mangled if scrubbed).
_SOURCE_KEYS = frozenset({"pre_context", "context_line", "post_context"})
# A query string inside a URL: where the data collection rules do not reach (a URL in an
# exception message or a breadcrumb).
_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")


def scrub_text(text: str) -> str:
    text = _QUERY.sub(rf"\1?{FILTERED}", text)
    text = _CREDENTIAL.sub(rf"\1{FILTERED}", text)
    return _EMAIL.sub(FILTERED, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: item if key in _SOURCE_KEYS else _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: Event, hint: Hint) -> Event:
    """`before_send`: every string of the event without e-mail addresses or credentials."""
    scrubbed: Event = _scrub(event)
    return scrubbed


def init_error_tracking(settings: Settings) -> None:
    global _enabled
    if settings.sentry_dsn is None:
        return
    # Imported only here: sentry-sdk adds about 9 MB to every process, which a
    # deployment without SENTRY_DSN should not carry.
    import sentry_sdk

    _enabled = True
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment.value,
        release=f"b2b-marketplace@{__version__}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        data_collection=DATA_COLLECTION,
        before_send=scrub_event,
        # Log lines (breadcrumbs) pass through the same scrubber.
        before_breadcrumb=lambda breadcrumb, hint: _scrub(breadcrumb),
    )


def report_exception(error: BaseException) -> None:
    """An unhandled error that the request-context middleware answered with a 500, so
    that no framework integration of Sentry saw it raised."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception(error)


def tag_request(request_id: str) -> None:
    if _enabled:
        import sentry_sdk

        sentry_sdk.get_isolation_scope().set_tag(REQUEST_ID_TAG, request_id)
