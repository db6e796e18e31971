"""The edge middlewares on their own: what they answer, and to which connections."""

from __future__ import annotations

import types
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Message

from marketplace.abuse.errors import IpDenied
from marketplace.core.middleware.abuse import IpFilterMiddleware, IpVerdict, carries_credentials
from marketplace.core.platform import Platform


async def _deny_everyone(
    platform: Platform, ip: str, limit: str | None, prefetch: str | None
) -> IpVerdict:
    return IpVerdict(refusal=IpDenied())


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("a refused connection reached the application")


async def _refuse(scope_type: str, path: str = "/api/v1/ws") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": scope_type,
        "path": path,
        "headers": [],
        "client": ("198.51.100.1", 1234),
        "state": {"client_ip": "198.51.100.1"},
        "app": types.SimpleNamespace(state=types.SimpleNamespace(platform=None)),
    }
    await IpFilterMiddleware(_never_called, check=_deny_everyone)(scope, receive, send)
    return sent


async def test_a_refused_websocket_is_closed_before_it_opens() -> None:
    assert await _refuse("websocket") == [{"type": "websocket.close", "code": 1008}]


async def test_a_refused_http_request_gets_the_problem() -> None:
    sent = await _refuse("http", "/api/v1/products")
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 403
    assert b"urn:marketplace:problem:ip-denied" in sent[1]["body"]


def test_what_counts_as_a_credential() -> None:
    def headers(*pairs: tuple[str, str]) -> Headers:
        return Headers(raw=[(name.encode(), value.encode()) for name, value in pairs])

    assert carries_credentials(headers(("authorization", "Bearer x")), "mp_session")
    assert carries_credentials(headers(("x-api-key", "")), "mp_session")
    assert carries_credentials(headers(("cookie", "a=1; mp_session=abc")), "mp_session")
    assert not carries_credentials(headers(("cookie", "not_mp_session_x=1")), "mp_session")
    assert not carries_credentials(headers(("cookie", "mp_csrf=1")), "mp_session")
    assert not carries_credentials(headers(), "mp_session")
