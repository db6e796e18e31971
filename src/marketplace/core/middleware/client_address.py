"""Resolve the client's address once per request, for limits, rules, logs and services.

`X-Forwarded-For` is believed only when the connecting peer is one of the trusted
proxies; otherwise anyone could claim any address. The result is stored in
`scope["state"]["client_ip"]`, where `core.client_ip.client_ip` reads it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from marketplace.core.client_ip import Network, resolve_client_ip


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, *, trusted_proxies: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})["client_ip"] = resolve_client_ip(
                scope, self.trusted_proxies
            )
        await self.app(scope, receive, send)
