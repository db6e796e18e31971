"""Anonymous reads answered from the shared cache in front of the router.

A domain caches its hottest public reads (a product's page) as the exact bytes its
route sends an anonymous visitor. For a `GET` that carries no credential, looking that
entry up here, before routing, gives the same answer without the router's work: route
matching and resolving some twenty dependencies cost about 0.5 ms of CPU per request,
against a few microseconds for the lookup (Django's cache middleware answers cached
pages before URL resolution for the same reason).

Everything else goes on to the router, which fills the cache: a request with a
credential (a buyer sees its own price), an unknown path, a miss, or a cache that fails
(the domain's lookup logs and reports a miss). On a miss the route does not look the
entry up again: the middleware leaves the key it missed in the request's state
(`missed_key`), so each request reads the cache once. The outer
middlewares still apply, the per-address rate limit among them. Only the domain knows
how a path maps to its cache key, so the routes and their lookups are given by the
application, and `core` imports no domain.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from marketplace.core.cache import Cache, PrefetchedCache
from marketplace.core.middleware.abuse import (
    PREFETCHED_STATE,
    carries_credentials,
    platform_from_scope,
)

# The request state's entry for the key a lookup missed (see `missed_key`).
_MISSED_KEY = "public_cache_missed_key"


@dataclass(frozen=True)
class Missed:
    """A lookup that read `key` and found nothing: the route fills that entry."""

    key: str


# What a domain looks up for a matched path and the raw query string: the body its
# route would send, a miss, or None (nothing looked up: a request the route must answer
# itself, e.g. parameters it refuses).
CachedLookup = Callable[[Cache, "re.Match[str]", bytes], Awaitable[bytes | Missed | None]]


@dataclass(frozen=True)
class CachedRead:
    """A public `GET` route whose anonymous answer its domain keeps in the cache."""

    route: BaseRoute  # the route it stands in for: metrics and logs name the same route
    pattern: re.Pattern[str]  # matches exactly the paths the route would serve
    lookup: CachedLookup
    media_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()  # further headers the route sends
    # The cache entry the lookup reads first, when the path and query name it without a
    # round trip: read ahead, along with the address's verdict (`first_key` below).
    first_key: Callable[[re.Match[str], bytes], str | None] | None = None


def missed_key(request: Request) -> str | None:
    """The cache key this request's lookup before routing read and missed, if any: the
    route then knows the entry is not there without reading it again."""
    key: str | None = request.scope.get("state", {}).get(_MISSED_KEY)
    return key


def route_of(router: APIRouter, endpoint: Callable[..., Any]) -> BaseRoute:
    """The router's route of that endpoint function."""
    return next(route for route in router.routes if getattr(route, "endpoint", None) is endpoint)


def first_keys(reads: Sequence[CachedRead], session_cookie: str) -> Callable[[Scope], str | None]:
    """For a request, the entry its lookup will read first, if a cached read with a
    `first_key` will look it up (an anonymous GET of its path): the abuse middleware
    reads it in its own round trip (`IpFilterMiddleware`'s `prefetch`), and the lookup
    gets it from there (`PrefetchedCache`)."""
    candidates = tuple(reads)

    def first_key(scope: Scope) -> str | None:
        if scope["method"] != "GET":
            return None
        for read in candidates:
            match = read.pattern.fullmatch(scope["path"])
            if match is not None:
                if read.first_key is None or carries_credentials(
                    Headers(scope=scope), session_cookie
                ):
                    return None
                return read.first_key(match, scope["query_string"])
        return None

    return first_key


class PublicCacheMiddleware:
    def __init__(self, app: ASGIApp, *, reads: Sequence[CachedRead], session_cookie: str) -> None:
        self.app = app
        self.reads = tuple(reads)
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            for read in self.reads:
                match = read.pattern.fullmatch(scope["path"])
                if match is not None:
                    if await self._answer(read, match, scope, send):
                        return
                    break
        await self.app(scope, receive, send)

    async def _answer(
        self, read: CachedRead, match: re.Match[str], scope: Scope, send: Send
    ) -> bool:
        if carries_credentials(Headers(scope=scope), self.session_cookie):
            return False
        cache = platform_from_scope(scope).cache
        prefetched = scope.get("state", {}).get(PREFETCHED_STATE)
        if prefetched is not None:
            cache = PrefetchedCache(cache, *prefetched)
        body = await read.lookup(cache, match, scope["query_string"])
        if isinstance(body, Missed):
            scope.setdefault("state", {})[_MISSED_KEY] = body.key
            return False
        if body is None:
            return False
        scope["route"] = read.route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode("latin-1")),
                    (b"content-type", read.media_type.encode("latin-1")),
                    *(
                        (name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in read.headers
                    ),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True
