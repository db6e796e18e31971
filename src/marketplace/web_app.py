"""The app's web build (`frontend-mobile/dist`, made by `npx expo export --platform web`),
served at `/` by the API itself, so one process and one address give a person the whole
marketplace.

Routes of the single-page app (`/search`, `/orders/…`) all answer `index.html`; the
client router takes it from there. Paths of the API, health, metrics and docs are never
answered with the page: an unknown `/api/...` stays a 404 problem. Bundles under
`/_expo/static` carry a content hash in their names and are cached for a year; the page
itself is revalidated on every load, so a new release is picked up at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Own CSP: the bundles and styles are same-origin files; the page talks to the API and its
# WebSocket on the same origin; product images may be served from elsewhere (storage).
WEB_APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; font-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_THE_APP = ("/api/", "/health", "/metrics")


def has_web_build(directory: Path | None) -> bool:
    return directory is not None and (directory / "index.html").is_file()


def install_web_app(app: FastAPI, directory: Path) -> None:
    """Serve the build in `directory`; call after every other route is added."""
    root = directory.resolve()
    index = root / "index.html"
    static = root / "_expo"
    if static.is_dir():
        app.mount("/_expo", _ImmutableFiles(directory=static), name="web-app-bundles")
    if (root / "assets").is_dir():
        app.mount("/assets", _ImmutableFiles(directory=root / "assets"), name="web-app-assets")

    async def page(request: Request) -> Response:
        path = request.path_params.get("path", "")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate, headers={"Cache-Control": REVALIDATE})
        return FileResponse(
            index,
            media_type="text/html",
            headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": WEB_APP_CSP},
        )

    app.router.routes.append(
        _PageRoute("/{path:path}", page, methods=["GET", "HEAD"], include_in_schema=False)
    )


class _PageRoute(Route):
    """Every GET outside the API's own paths; those keep their 404 and 405 problems."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(NOT_THE_APP):
            return Match.NONE, {}
        return super().matches(scope)


class _ImmutableFiles(StaticFiles):
    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[override,type-arg]
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response
