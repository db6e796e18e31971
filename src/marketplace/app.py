"""The application factory: routers, middleware, exception handlers and lifespan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from marketplace import __version__
from marketplace.abuse import router as abuse_router
from marketplace.abuse import service as abuse
from marketplace.audit import router as audit_router
from marketplace.catalog import router as catalog_router
from marketplace.catalog.categories import router as catalog_categories_router
from marketplace.catalog.imports import router as catalog_imports_router
from marketplace.catalog.price_lists import router as catalog_price_lists_router
from marketplace.catalog.search import router as catalog_search_router
from marketplace.companies import router as companies_router
from marketplace.companies import service as companies
from marketplace.companies.schemas import TrustSignals
from marketplace.core import dependency_plan, health, route_table
from marketplace.core.api_docs import (
    DOCS_ASSETS_PATH,
    OPENAPI_PATH,
    install_api_docs,
    redirect_to_api_docs,
)
from marketplace.core.cache import Cache
from marketplace.core.client_ip import parse_networks
from marketplace.core.error_tracking import init_error_tracking
from marketplace.core.errors import Unauthenticated, install_exception_handlers
from marketplace.core.heap import freeze_startup_heap
from marketplace.core.logging import configure_logging, get_logger
from marketplace.core.metrics import (
    CONTENT_TYPE_LATEST,
    Metrics,
    MetricsAccess,
    MetricsMiddleware,
    metrics_access,
)
from marketplace.core.middleware.abuse import (
    AddressLimit,
    IpFilterMiddleware,
    RateLimitMiddleware,
)
from marketplace.core.middleware.body_limit import BodySizeLimitMiddleware
from marketplace.core.middleware.client_address import ClientAddressMiddleware
from marketplace.core.middleware.load_shed import LoadShedMiddleware
from marketplace.core.middleware.public_cache import PublicCacheMiddleware, first_keys
from marketplace.core.middleware.request_context import REQUEST_ID_HEADER, RequestContextMiddleware
from marketplace.core.middleware.security_headers import SecurityHeadersMiddleware
from marketplace.core.notifier import build_notifier
from marketplace.core.openapi import install_openapi
from marketplace.core.outbox import outbox_backlog
from marketplace.core.platform import Platform
from marketplace.core.preflight import require_valid_configuration
from marketplace.event_delivery import EventDelivery
from marketplace.identity import router as identity_router
from marketplace.identity.deps import get_optional_principal, get_principal
from marketplace.messaging import repository as messaging_repository
from marketplace.messaging import router as messaging_router
from marketplace.notifications import router as notifications_router
from marketplace.realtime import router as realtime_router
from marketplace.realtime.hub import RealtimeHub
from marketplace.settings import Environment, Settings
from marketplace.staff.router import staff_router
from marketplace.trade.invoices import router as trade_invoices_router
from marketplace.trade.orders import router as trade_orders_router
from marketplace.trade.payments import router as trade_payments_router
from marketplace.trade.reviews import router as trade_reviews_router
from marketplace.trade.reviews import service as trade_reviews
from marketplace.trade.rfqs import router as trade_rfqs_router
from marketplace.web_app import has_web_build, install_web_app
from marketplace.webhooks import router as webhooks_router

API_PREFIX = "/api/v1"
logger = get_logger(__name__)
CORS_MAX_AGE_SECONDS = 3600


def api_routers() -> list[APIRouter]:
    """Everything under `/api/v1`, in the order routes are matched; each domain adds its
    router here."""
    return [
        # One after the other: the hottest public reads (catalog) first. Search and the
        # import routes before the product routes, whose /products/{id} would take
        # /products/facets and /products/export.
        catalog_search_router.search_router,
        catalog_imports_router.router,
        catalog_router.products_router,
        catalog_categories_router.categories_router,
        catalog_price_lists_router.buyer_groups_router,
        catalog_price_lists_router.price_lists_router,
        trade_orders_router.orders_router,
        trade_payments_router.payments_router,
        trade_invoices_router.invoices_router,
        trade_rfqs_router.rfqs_router,
        trade_reviews_router.reviews_router,
        identity_router.auth_router,
        companies_router.me_router,
        identity_router.me_router,
        companies_router.api_keys_router,
        companies_router.companies_router,
        companies_router.invitations_router,
        companies_router.admin_companies_router,
        staff_router,
        catalog_router.admin_products_router,
        abuse_router.admin_router,
        catalog_categories_router.admin_categories_router,
        messaging_router.router,
        notifications_router.notifications_router,
        notifications_router.preferences_router,
        webhooks_router.router,
        audit_router.audit_router,
        audit_router.admin_audit_router,
        realtime_router.tickets_router,
    ]


def include_api(app: FastAPI) -> None:
    # Each router straight into the app, not through an /api/v1 router: FastAPI matches
    # a nested router's routes once per level, and each level walks every router before
    # the one that matches (POST /orders: 90 us of matching per level).
    # Resolving the principal on every API route makes an invalid, expired or revoked
    # credential a 401 everywhere, public routes included (resolved once per request).
    principal = [Depends(get_optional_principal, scope="function")]
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX, dependencies=principal)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Dependencies resolved from a plan made once per route (core/dependency_plan.py).
    dependency_plan.install()
    # Fail at start-up, not at the first request, with every problem at once (bad
    # JWT_KEYS, TRUSTED_PROXIES, DATABASE_URL...): what `check-config` runs.
    require_valid_configuration(settings)
    trusted_proxies = parse_networks(settings.trusted_proxies)
    configure_logging(settings)
    init_error_tracking(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = await Platform.start(settings)
        app.state.platform = platform
        metrics.watch_pool(platform.database.pool_status)
        metrics.watch_replicas(platform.replicas.status)
        platform.replicas.on_skip = metrics.replica_skipped
        metrics.watch_outbox(
            lambda: outbox_backlog(platform.database), settings.health_check_timeout_seconds
        )
        events = EventDelivery(platform, metrics_registry=metrics.registry)
        if settings.outbox_relay_enabled:
            events.start()
        app.state.events = events
        app.state.realtime = RealtimeHub(platform)
        if settings.environment is not Environment.TEST:
            # Not in tests: they start many apps in one process and need their cycles freed.
            freeze_startup_heap()
        try:
            yield
        finally:
            await app.state.realtime.close()
            await events.stop()
            await platform.close()

    app = FastAPI(
        title="B2B Marketplace API",
        version=__version__,
        description="Buyers find suppliers, request quotations and place orders.",
        openapi_url=OPENAPI_PATH,
        docs_url=None,  # served by install_api_docs, from the app rather than CDNs
        redoc_url=None,
        lifespan=lifespan,
        debug=False,  # tracebacks never reach a client, whatever DEBUG says
        # The service exports Prometheus metrics (core/metrics.py) and no OpenTelemetry.
        # FastAPI's native telemetry asks the global OpenTelemetry providers on every
        # request whether it is on: 4% of the CPU of `/health/live` (py-spy, issue 14).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.notifier = build_notifier(settings)
    install_ports(app)
    app.state.metrics = metrics
    install_exception_handlers(app)

    app.include_router(health.router)
    install_api_docs(app)
    include_api(app)
    install_openapi(app, credential_required=get_principal)
    # Without the principal dependency: a WebSocket authenticates itself (realtime/router.py).
    app.include_router(realtime_router.router, prefix=API_PREFIX)
    app.add_route("/metrics", _metrics_endpoint, include_in_schema=False)
    if metrics_access(settings, None) is MetricsAccess.HIDDEN:
        logger.warning("metrics.not_served", reason="production needs METRICS_TOKEN for /metrics")
    # What `/` shows: the app's web build when it has been built, else the API docs.
    if has_web_build(settings.web_app_dir):
        assert settings.web_app_dir is not None
        install_web_app(app, settings.web_app_dir)  # last: its page answers every other GET
    else:
        app.add_route("/", redirect_to_api_docs, include_in_schema=False)
    metrics.name_routes(app.routes)
    # The route found from the path's first segments (core/route_table.py).
    route_table.install(app)

    # Added innermost first: the request-context middleware wraps everything else.
    public_reads = [
        *catalog_router.cached_public_reads(API_PREFIX),
        *catalog_categories_router.cached_public_reads(API_PREFIX),
        *catalog_search_router.cached_public_reads(
            API_PREFIX, settings.catalog_search_cache_ttl_seconds
        ),
    ]
    app.add_middleware(
        PublicCacheMiddleware, reads=public_reads, session_cookie=settings.session_cookie_name
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        path_limits={
            **catalog_imports_router.body_limits(API_PREFIX, settings.max_import_bytes),
            **catalog_router.body_limits(API_PREFIX, settings.max_image_bytes),
            **messaging_router.body_limits(API_PREFIX, settings.max_attachment_bytes),
        },
    )
    # Abuse protection runs inside CORS, so that browsers can read its 403 and 429
    # answers, and after the client address is resolved.
    address_limit = AddressLimit(
        limit=settings.rate_limit_anonymous,
        limited_prefix="/api/",
        static_prefixes=(DOCS_ASSETS_PATH + "/",),
        credentialed_prefix=API_PREFIX + "/",
        session_cookie=settings.session_cookie_name,
    )
    app.add_middleware(
        RateLimitMiddleware,
        address_limit=address_limit,
        on_rate_limited=_record_rate_limit_offence,
    )
    # The address's verdict, its per-address limit and the public cache's first read:
    # one round trip to Redis for the three.
    app.add_middleware(
        IpFilterMiddleware,
        check=abuse.IpGuard().verdict,
        address_limit=address_limit,
        prefetch=first_keys(public_reads, settings.session_cookie_name),
    )
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=trusted_proxies)
    # Load shedding inside CORS (browsers can read its 503) and before anything that
    # uses Redis or the database: a request waiting its turn holds nothing.
    app.add_middleware(
        LoadShedMiddleware,
        limited_prefix="/api/",
        max_in_flight=settings.max_requests_in_flight,
        queue_timeout=settings.request_queue_timeout_seconds,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[] if settings.allows_any_origin else settings.trusted_origins,
        allow_origin_regex=".*" if settings.allows_any_origin else None,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Accept-Language",
            "Idempotency-Key",
            "X-API-Key",
            "X-Company-ID",
            "X-CSRF-Token",
            REQUEST_ID_HEADER,
        ],
        expose_headers=[
            REQUEST_ID_HEADER,
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ],
        max_age=CORS_MAX_AGE_SECONDS,
    )
    app.add_middleware(
        SecurityHeadersMiddleware, enable_hsts=settings.environment is Environment.PRODUCTION
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    return app


def install_ports(app: FastAPI) -> None:
    """What a domain needs from a domain above it, as its `ports.py` states it, plugged
    in here: so no domain imports one above it (docs/architecture.md, "Layers")."""
    app.state.trust_signals = _trust_signals
    app.state.on_sign_in = companies.accept_invitations_on_sign_in
    app.state.load_memberships = companies.memberships_as_values
    app.state.load_active_session = companies.active_session_with_memberships
    app.state.record_offence = abuse.record_offence


async def _trust_signals(
    session: AsyncSession, cache: Cache, company_kind: str, company_id: uuid.UUID
) -> TrustSignals | None:
    """A company's profile shows trade's trust signals, with messaging's reply times."""
    return await trade_reviews.trust_signals(
        session, cache, company_kind, company_id, messaging_repository.supplier_reply_delays
    )


async def _record_rate_limit_offence(platform: Platform, ip: str) -> None:
    await abuse.record_offence(platform, ip, "rate_limit")


async def _metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    access = metrics_access(settings, request.headers.get("authorization"))
    if access is MetricsAccess.HIDDEN:
        raise StarletteHTTPException(status.HTTP_404_NOT_FOUND)
    if access is MetricsAccess.UNAUTHENTICATED:
        raise Unauthenticated(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    metrics: Metrics = request.app.state.metrics
    await metrics.refresh()
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
