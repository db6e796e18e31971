"""Unhandled errors reach Sentry through sentry-sdk's real transport, to a Sentry
stand-in listening on 127.0.0.1, with the request id, environment and release, and
without credentials or personal data sent with the failing request."""

from __future__ import annotations

import gzip
import importlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk
from fastapi import APIRouter

from marketplace import __version__
from marketplace.core.error_tracking import scrub_text
from marketplace.settings import Settings
from tests.conftest import client_for, make_settings, started_app

EMAIL_IN_BODY = "jane.buyer@example.com"
EMAIL_IN_QUERY = "query.person@example.org"
OTP_CODE = "654321"
BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.bearer-token-value"
QUERY_TOKEN = "query-access-token-value"
SESSION_COOKIE = "session-cookie-value"
API_KEY = "mk_live_api-key-value"
NEVER_SENT = (EMAIL_IN_BODY, EMAIL_IN_QUERY, OTP_CODE, BEARER_TOKEN, QUERY_TOKEN, SESSION_COOKIE)

failing = APIRouter()


@failing.post("/api/v1/_failing")
async def fail(payload: dict[str, str]) -> None:
    code = payload["code"]  # a local variable holding the code, as a sign-in handler has
    raise RuntimeError(f"no pending sign-in for {payload['email']} ({len(code)} digits)")


@dataclass
class SentryStandIn:
    """Receives envelopes as Sentry's ingestion endpoint does: POST /api/<project>/envelope/."""

    envelopes: list[bytes] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                # The SDK compresses with brotli when the module is installed (locust
                # brings it into the dev environment), with gzip otherwise.
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    body = importlib.import_module("brotli").decompress(body)
                received.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        assert self.server is not None
        return f"http://public-key@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            lines = envelope.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn()
    stand_in.start()
    yield stand_in
    # Sentry is process-wide: later tests in this worker must not report anywhere.
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    stand_in.stop()


@pytest.fixture
def sentry_settings(settings: Settings, sentry: SentryStandIn) -> Settings:
    assert settings.database_url is not None
    return make_settings(
        database_url=settings.database_url.get_secret_value(), sentry_dsn=sentry.dsn
    )


async def test_an_unhandled_error_reaches_sentry_without_credentials_or_personal_data(
    sentry_settings: Settings, sentry: SentryStandIn
) -> None:
    async for app in started_app(sentry_settings):
        app.include_router(failing)
        async with client_for(app) as client:
            response = await client.post(
                "/api/v1/_failing",
                params={"email": EMAIL_IN_QUERY, "access_token": QUERY_TOKEN, "code": OTP_CODE},
                json={"email": EMAIL_IN_BODY, "code": OTP_CODE},
                headers={
                    "Authorization": f"Bearer {BEARER_TOKEN}",
                    "Cookie": f"mp_session={SESSION_COOKIE}; other={EMAIL_IN_BODY}",
                    "X-API-Key": API_KEY,
                    "X-OTP-Code": OTP_CODE,
                    "X-Request-ID": "failing-request-0001",
                },
            )
        assert response.status_code == 500
        assert response.json()["request_id"] == "failing-request-0001"
    sentry_sdk.flush(timeout=10)

    [event] = sentry.events()
    assert event["tags"]["request_id"] == "failing-request-0001"
    assert event["environment"] == "test"
    assert event["release"] == f"b2b-marketplace@{__version__}"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "no pending sign-in for [Filtered] (6 digits)"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"] == "http://testserver/api/v1/_failing"
    assert event["request"]["headers"]["x-request-id"] == "failing-request-0001"
    assert "user" not in event or not event["user"]
    # Nothing of what the request carried, anywhere in anything sent to Sentry.
    everything = b"".join(sentry.envelopes).decode()
    for secret in (*NEVER_SENT, API_KEY):
        assert secret not in everything, f"{secret!r} was sent to Sentry"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no user jane@example.com", "no user [Filtered]"),
        (
            "GET https://a.example/x?access_token=abc&q=1 failed",
            "GET https://a.example/x?[Filtered] failed",
        ),
        ("Authorization: Bearer abc.def", "Authorization: Bearer [Filtered]"),
        ("password=hunter2 refused", "password=[Filtered] refused"),
        ("release b2b-marketplace@1.2.3", "release b2b-marketplace@1.2.3"),
    ],
)
def test_text_is_scrubbed_of_addresses_and_credentials(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
