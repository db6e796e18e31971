"""Abuse protection at the edge: address rules and blocks, and the per-address limit.

Both middlewares are pure ASGI and run after the client-address middleware. They hold
no business rules: what an address may do is decided by a callable the application
wires in (the `abuse` domain), so that `core` imports no domain.

- `IpFilterMiddleware` asks that callable for a verdict per request: exempt (an allow
  rule: no deny rules, blocks or per-address limit), refused (a deny rule or an
  automatic block, answered with the problem it returns), or neither.
- `RateLimitMiddleware` counts every request to the API without credentials against
  the per-address limit (`AddressLimit` says which), adds the `RateLimit-*`
  headers of the most specific limit applied to each response (the per-user or
  per-API-key limit, when the principal dependency applied one, stores its result
  in the same place), and reports a `429` of the request as an offence towards an
  automatic block unless it was a principal's own limit.

One round trip for both: the filter hands the verdict callable the limit to count
when the request is one the limit applies to, and the callable counts it in the same
round trip as the verdict when it can (`IpVerdict.counted`); the rate-limit middleware
then only reads the result. When the callable could not count it (the rules changed,
the store is in-process), the rate-limit middleware counts it as before.

Only the API is limited per address. The app's page and its static bundles (served at
`/` from the web build) and the API docs' scripts are files, and one page load fetches
dozens of them: counted, they would spend a visitor's API budget before the app made
its first call.

A principal's own limit is never an offence of its address: B2B customers sit behind
shared corporate addresses, and one busy integration going past its limit must not get
every colleague, other company and visitor behind that address blocked. Offences are
what the address itself does: exceeding the per-address limit, failed sign-ins and
invalid credentials (reported by the identity domain).

Requests to the API that carry a credential skip the per-address limit here: they
are counted per user or per API key once the credential is resolved, so that many
people behind one office address are not limited together. A credential that fails
to resolve is charged to the address by the principal dependency instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.core.client_ip import client_ip, limit_key
from marketplace.core.errors import DomainError, problem_response_for
from marketplace.core.platform import Platform
from marketplace.core.ratelimit import RateLimitResult

# Keys in `scope["state"]`.
IP_EXEMPT_STATE = "ip_exempt"
RATE_LIMIT_STATE = "rate_limit"
# Set when the request's 429 is its principal's own limit (not an offence of the address).
PRINCIPAL_OVER_LIMIT_STATE = "principal_over_limit"
PRINCIPAL_LIMITED_STATE = "principal_rate_limited"
# (key, value) of a cache entry read along with the address's verdict.
PREFETCHED_STATE = "prefetched_cache_entry"

# Probes and scrapes must never be refused: a blocked load balancer address would
# otherwise take every instance out of service.
EXEMPT_PATHS = ("/health", "/metrics")

POLICY_VIOLATION = 1008  # WebSocket close code


@dataclass(frozen=True)
class IpVerdict:
    exempt: bool = False
    refusal: DomainError | None = None
    # The per-address limit asked for, counted along with the verdict; None: not counted.
    counted: RateLimitResult | None = None
    # The cache entry asked for, read along with the verdict: (key, value or None when
    # absent); None: not read.
    prefetched: tuple[str, bytes | None] | None = None


# (platform, client address, the per-address limit to count along with the verdict or
# None, a cache entry to read along with it or None) -> the verdict.
IpCheck = Callable[[Platform, str, str | None, str | None], Awaitable[IpVerdict]]
# The cache entry the request will read first, when known before routing (the public
# cache's lookup of an anonymous read: `PublicCacheMiddleware.first_key`).
Prefetch = Callable[[Scope], str | None]
OffenceRecorder = Callable[[Platform, str], Awaitable[object]]


def platform_from_scope(scope: Scope) -> Platform:
    platform: Platform = scope["app"].state.platform
    return platform


async def hit_address_limit(platform: Platform, limit: str, ip: str) -> RateLimitResult:
    """Count one request against the per-address limit (IPv6 counted per /64)."""
    return await platform.rate_limiter.hit(limit, "ip", limit_key(ip))


async def limit_principal(platform: Platform, scope: Scope, kind: str, identity: str) -> None:
    """Count the request against the user's or API key's limit (429 beyond it); its
    result becomes the `RateLimit-*` headers of the response."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if state.get(PRINCIPAL_LIMITED_STATE):
        return
    state[PRINCIPAL_LIMITED_STATE] = True
    settings = platform.settings
    expression = settings.rate_limit_api_key if kind == "api_key" else settings.rate_limit_user
    result = await platform.rate_limiter.hit(expression, kind, identity)
    state[RATE_LIMIT_STATE] = result
    if not result.allowed:
        # Its own budget, spent: no offence of the address it shares with others.
        state[PRINCIPAL_OVER_LIMIT_STATE] = True
    result.raise_if_exceeded()


async def count_address_if_uncounted(platform: Platform, scope: Scope) -> None:
    """Requests to the API that carry a credential skip the per-address limit at the
    edge, to be limited per principal. When no principal comes out (a wrong or empty
    credential), the request is counted against the address here, so that made-up
    credentials do not buy unlimited requests. No-op for a request already counted."""
    state: dict[str, Any] = scope.setdefault("state", {})
    ip = client_ip(scope)
    if ip is None or state.get(IP_EXEMPT_STATE) or RATE_LIMIT_STATE in state:
        return
    result = await hit_address_limit(platform, platform.settings.rate_limit_anonymous, ip)
    state[RATE_LIMIT_STATE] = result
    result.raise_if_exceeded()


def is_exempt_path(path: str) -> bool:
    return any(path == exempt or path.startswith(exempt + "/") for exempt in EXEMPT_PATHS)


async def _send_problem(error: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    headers = Headers(scope=scope)
    response = problem_response_for(
        error,
        path=scope["path"],
        accept_language=headers.get("accept-language"),
        request_id=scope.get("state", {}).get("request_id"),
    )
    await response(scope, receive, send)


@dataclass(frozen=True)
class AddressLimit:
    """The per-address limit, and which requests count against it: the API's, except
    its static files and the requests that carry a credential (counted per principal)."""

    limit: str
    limited_prefix: str
    credentialed_prefix: str
    session_cookie: str
    static_prefixes: tuple[str, ...] = ()

    def applies_to(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if not path.startswith(self.limited_prefix) or path.startswith(self.static_prefixes):
            return False
        if not path.startswith(self.credentialed_prefix):
            return True
        return not carries_credentials(Headers(scope=scope), self.session_cookie)


class IpFilterMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        check: IpCheck,
        address_limit: AddressLimit | None = None,
        prefetch: Prefetch | None = None,
    ) -> None:
        self.app = app
        self.check = check
        self.address_limit = address_limit
        self.prefetch = prefetch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_exempt_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope)
        if ip is not None:
            limit, key = None, None
            if scope["type"] == "http":
                if self.address_limit and self.address_limit.applies_to(scope):
                    limit = self.address_limit.limit
                key = self.prefetch(scope) if self.prefetch else None
            verdict = await self.check(platform_from_scope(scope), ip, limit, key)
            if verdict.refusal is not None:
                if scope["type"] == "http":
                    await _send_problem(verdict.refusal, scope, receive, send)
                else:
                    await send({"type": "websocket.close", "code": POLICY_VIOLATION})
                return
            state = scope.setdefault("state", {})
            if verdict.prefetched is not None:
                state[PREFETCHED_STATE] = verdict.prefetched
            if verdict.exempt:
                state[IP_EXEMPT_STATE] = True
            elif verdict.counted is not None:
                state[RATE_LIMIT_STATE] = verdict.counted
        await self.app(scope, receive, send)


def carries_credentials(headers: Headers, session_cookie: str) -> bool:
    if "authorization" in headers or "x-api-key" in headers:
        return True
    cookie = headers.get("cookie")
    if cookie is None or session_cookie not in cookie:
        return False
    # Parsed as `Request.cookies` parses it, so that both sides agree.
    return session_cookie in cookie_parser(cookie)


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, address_limit: AddressLimit, on_rate_limited: OffenceRecorder
    ) -> None:
        self.app = app
        self.address_limit = address_limit
        self.on_rate_limited = on_rate_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        ip = client_ip(scope)
        platform = platform_from_scope(scope)
        if (
            ip is not None
            and not state.get(IP_EXEMPT_STATE)
            and self.address_limit.applies_to(scope)
        ):
            # Counted along with the address's verdict (`IpFilterMiddleware`), or here.
            result: RateLimitResult | None = state.get(RATE_LIMIT_STATE)
            if result is None:
                result = await hit_address_limit(platform, self.address_limit.limit, ip)
                state[RATE_LIMIT_STATE] = result
            if not result.allowed:
                await _send_problem(result.error(), scope, receive, send)
                await self.on_rate_limited(platform, ip)
                return

        status = 0

        async def send_with_limit_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                applied: RateLimitResult | None = state.get(RATE_LIMIT_STATE)
                if applied is not None:
                    headers = MutableHeaders(scope=message)
                    if "ratelimit-limit" not in headers:
                        for name, value in applied.headers().items():
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_limit_headers)
        if status == 429 and ip is not None and not state.get(PRINCIPAL_OVER_LIMIT_STATE):
            await self.on_rate_limited(platform, ip)
