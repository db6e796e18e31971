"""The API's own documentation pages, Swagger UI and ReDoc, served entirely by the app.

FastAPI's default pages load their scripts, styles and Google Fonts from CDNs, so with no
internet (a laptop on a train, a plant network) they stay blank. The assets come from the
`fastapi-offline` package, installed through the lock file like every other dependency,
and are served from `DOCS_ASSETS_PATH`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

DOCS_PATH = "/api/docs"
REDOC_PATH = "/api/redoc"
OPENAPI_PATH = "/api/openapi.json"
DOCS_ASSETS_PATH = "/api/docs-assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")
# Swagger UI would otherwise send the schema to an online validator for a badge.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_api_docs(app: FastAPI) -> None:
    """Serve the docs pages and their assets. The app is created with `docs_url=None`
    and `redoc_url=None`, so that FastAPI's CDN pages are not registered."""
    app.mount(DOCS_ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="api-docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{OPENAPI_PATH}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{OPENAPI_PATH}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, methods=["GET"], include_in_schema=False)


async def redirect_to_api_docs(request: Request) -> RedirectResponse:
    """`GET /` for a person who opens the bare address: the docs, until a web app is
    served there."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}{DOCS_PATH}", status_code=307)
