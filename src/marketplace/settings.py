"""One settings object, read once from the environment and `.env`, then injected."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_KEY_LENGTH = 32
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"
# Transports that put a message where more people can read it than its recipient (the
# service's output, a file): a sign-in code there is a sign-in for whoever reads it.
DEVELOPMENT_TRANSPORTS = frozenset({"console", "file"})
# Sign-in codes in development, unless set: trying the demo's accounts one after another
# from one address must not lock a developer out for 15 minutes.
DEVELOPMENT_OTP_LIMITS = {
    "rate_limit_otp_per_destination": "50/15minutes",
    "rate_limit_otp_per_ip": "500/hour",
}


# The widest public network a proxy list may name (a cloud provider's published ranges
# reach /13 for IPv4 and /29 for IPv6). Wider, and `X-Forwarded-For` from a large part of
# the internet is believed: any client there chooses its own address for limits, blocks
# and rules. Private ranges (10.0.0.0/8, fc00::/7...) hold only our own hops.
MIN_PUBLIC_PROXY_PREFIX = {4: 8, 6: 16}


def too_wide_proxy_networks(cidrs: list[str]) -> list[str]:
    """The entries of TRUSTED_PROXIES that would trust much of the internet. An entry
    that does not parse is left to the configuration check, which names it."""
    too_wide = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if network.is_private and network.prefixlen > 0:
            continue
        if network.prefixlen < MIN_PUBLIC_PROXY_PREFIX[network.version]:
            too_wide.append(cidr)
    return too_wide


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Environment = Environment.DEVELOPMENT
    debug: bool = False
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)

    # Database: with no DATABASE_URL the service runs its own embedded PostgreSQL.
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout: float = Field(default=10.0, gt=0)
    database_statement_timeout_ms: int = Field(default=30_000, ge=0)
    # Streaming replicas for read-only work (public catalog, search, category pages),
    # comma-separated. A replica further behind the primary than the lag bound, or
    # unreachable, is skipped until it catches up; the primary serves meanwhile.
    database_replica_urls: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    database_replica_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)
    database_replica_check_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # Load shedding (core/middleware/load_shed.py): each API process serves at most
    # this many `/api/` requests at once; the next wait their turn in arrival order up
    # to REQUEST_QUEUE_TIMEOUT_SECONDS of age, then get 503 with Retry-After. The wait is
    # well below DATABASE_POOL_TIMEOUT, so a request is shed before it could time out on
    # the pool. 32 in flight (was 64; the database pool has 20): the same throughput on
    # one CPU-bound worker, half the time each admitted request spends in flight, and
    # fewer objects alive at the peak (memory kept by the allocator after it). At 1,000
    # connections the longest answer fell from 6.5 s (64, 3 s) to 3.4 s (32, 2 s).
    max_requests_in_flight: int = Field(default=32, ge=1, le=10_000)
    request_queue_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    embedded_postgres_data_dir: Path = Path("var/pgdata")
    embedded_postgres_database: str = "marketplace"
    # pg_dump/pg_restore for `backup` and `restore`; unset: found by the server's version.
    postgres_bin_dir: Path | None = None

    # Optional infrastructure: absent means in-process fallback.
    redis_url: SecretStr | None = None
    redis_key_prefix: str = "mp:"
    # Redis connections per process (core/redis.py): the requests in flight use one each
    # at most, the rest is for background work. A caller finding them all in use waits
    # up to REDIS_POOL_TIMEOUT_SECONDS instead of failing at once.
    redis_max_connections: int = Field(default=96, ge=4, le=10_000)
    redis_pool_timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    amqp_url: SecretStr | None = None

    trusted_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    # Sign-in and tokens.
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "b2b-marketplace"
    jwt_audience: str = "b2b-marketplace-api"
    # "kid:secret,kid:secret": the first signs, all verify (key rotation). Unset: one
    # key derived from SECRET_KEY.
    jwt_keys: SecretStr | None = None
    otp_ttl_seconds: int = Field(default=300, ge=60, le=3600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    auth_otp_bypass_code: SecretStr | None = None
    session_cookie_name: str = "mp_session"
    csrf_cookie_name: str = "mp_csrf"
    invitation_ttl_days: int = Field(default=7, ge=1, le=90)

    # Abuse protection ("N/period" strings of the `limits` library).
    rate_limit_anonymous: str = "120/minute"
    rate_limit_user: str = "600/minute"
    rate_limit_api_key: str = "1200/minute"
    rate_limit_otp_per_destination: str = "5/15minutes"
    rate_limit_otp_per_ip: str = "30/hour"
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ip_autoblock_threshold: int = Field(default=20, ge=1)
    ip_autoblock_window_seconds: int = Field(default=300, ge=1)
    ip_autoblock_seconds: int = Field(default=900, ge=1)

    # Events: the outbox relay runs in every API process unless disabled.
    outbox_relay_enabled: bool = True
    outbox_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)

    # Outbound webhooks. HTTPS only (HTTP too in development). Hosts listed in
    # WEBHOOK_ALLOWED_HOSTS skip the address checks (local test receivers); the list is
    # refused in production. A delivery is tried once, then once after each delay of the
    # schedule (with jitter); an endpoint failing that many days is disabled.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_retry_schedule_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [30.0, 120.0, 600.0, 3600.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0]
    )
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_disable_after_days: float = Field(default=3.0, gt=0, le=365)
    webhook_secret_grace_seconds: int = Field(default=86_400, ge=0, le=604_800)
    webhook_delivery_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_delivery_concurrency: int = Field(default=16, ge=1, le=256)

    # Catalog search: first pages and facets of public searches are cached this long
    # (writes retire them sooner); 0 turns the cache off.
    catalog_search_cache_ttl_seconds: float = Field(default=30.0, ge=0, le=3600)

    # The app's web build (`npm run build:web` in frontend-mobile), served at `/` when it
    # exists; without it `/` leads to the API docs.
    web_app_dir: Path | None = Path("frontend-mobile/dist")

    # Uploaded files and product images (local directory storage).
    storage_dir: Path = Path("var/storage")
    max_image_bytes: int = Field(default=5_242_880, ge=1024)
    # Pixels (width x height, read from the header before anything is decoded): a
    # 24-megapixel camera photo fits. Decoding takes 3-4 bytes per pixel, several times
    # over while resizing, so a 29 KiB GIF of 6300x6300 px would take hundreds of MB.
    max_image_pixels: int = Field(default=25_000_000, ge=10_000, le=100_000_000)
    # Images decoded at once per process (each up to a few hundred MB at the pixel
    # limit); further uploads wait up to IMAGE_QUEUE_SECONDS for a turn, then get 503.
    image_workers: int = Field(default=2, ge=1, le=32)
    image_queue_seconds: float = Field(default=10.0, gt=0, le=120)
    max_import_bytes: int = Field(default=52_428_800, ge=1024)
    # Each file attached to a message (up to five per message).
    max_attachment_bytes: int = Field(default=10_485_760, ge=1024)
    # Catalog imports: rows per transaction, and how long a running job may go without
    # a heartbeat before another process takes it over (its runner is presumed dead).
    import_batch_rows: int = Field(default=500, ge=1, le=10_000)
    import_job_stale_seconds: int = Field(default=60, ge=5)

    # Notification transports: console (printed to standard output) by default, a
    # JSON-lines file, SMTP. Production refuses console and file; SMS is `disabled` there
    # until a provider is plugged in (no SMS provider is built in).
    email_transport: Literal["console", "file", "smtp"] = "console"
    sms_transport: Literal["console", "file", "disabled"] = "console"
    notification_file_path: Path = Path("var/notifications.jsonl")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool = False
    smtp_from: str = "B2B Marketplace <no-reply@marketplace.local>"

    # Live updates (/api/v1/ws): a ping every this many seconds (silent for two: closed),
    # and messages buffered per connection before a slow client is disconnected.
    realtime_heartbeat_seconds: float = Field(default=20.0, gt=0, le=300)
    realtime_queue_size: int = Field(default=256, ge=4, le=10_000)

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.AUTO
    # Bearer token that `GET /metrics` requires when set; production serves /metrics only
    # with one (404 without it).
    metrics_token: SecretStr | None = None

    # Requests whose declared or streamed body exceeds this get 413.
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)

    @field_validator("trusted_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_replica_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("webhook_allowed_hosts", "webhook_retry_schedule_seconds", mode="before")
    @classmethod
    def _split_webhook_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_retry_schedule_seconds")
    @classmethod
    def _valid_retry_schedule(cls, value: list[float]) -> list[float]:
        if len(value) > 30 or any(not 0 < delay <= 7 * 86_400 for delay in value):
            raise ValueError("at most 30 delays, each above 0 and at most 604800 seconds")
        return value

    @model_validator(mode="after")
    def _generous_sign_in_limits_in_development(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT:
            for name, limit in DEVELOPMENT_OTP_LIMITS.items():
                if name not in self.model_fields_set:
                    setattr(self, name, limit)
        return self

    @model_validator(mode="after")
    def _webhook_allow_list_outside_production(self) -> Settings:
        if self.webhook_allowed_hosts and self.environment is Environment.PRODUCTION:
            raise ValueError("WEBHOOK_ALLOWED_HOSTS must be empty when ENVIRONMENT=production")
        return self

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _production_requires_real_secrets(self) -> Settings:
        if self.environment is not Environment.DEVELOPMENT:
            secret = self.secret_key.get_secret_value()
            if len(secret) < MIN_SECRET_KEY_LENGTH or secret == DEVELOPMENT_SECRET_KEY:
                raise ValueError(
                    f"SECRET_KEY must be set to a unique value of at least "
                    f"{MIN_SECRET_KEY_LENGTH} characters when ENVIRONMENT={self.environment}"
                )
        if self.auth_otp_bypass_code is not None and self.environment is Environment.PRODUCTION:
            raise ValueError("AUTH_OTP_BYPASS_CODE must not be set when ENVIRONMENT=production")
        return self

    @field_validator("metrics_token")
    @classmethod
    def _long_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @model_validator(mode="after")
    def _production_refuses_development_conveniences(self) -> Settings:
        """What is convenient on a developer's machine and a leak in production. Every
        problem at once, so that one run of `check-config` lists all of them."""
        if self.environment is not Environment.PRODUCTION:
            return self
        problems = []
        if self.debug:
            problems.append(
                "DEBUG must be false when ENVIRONMENT=production "
                "(it allows every CORS origin with credentials)"
            )
        if self.email_transport in DEVELOPMENT_TRANSPORTS:
            problems.append(
                f"EMAIL_TRANSPORT={self.email_transport} is refused when "
                "ENVIRONMENT=production (it writes sign-in codes where others can read "
                "them): set EMAIL_TRANSPORT=smtp"
            )
        if self.sms_transport in DEVELOPMENT_TRANSPORTS:
            problems.append(
                f"SMS_TRANSPORT={self.sms_transport} is refused when ENVIRONMENT=production "
                "(it writes sign-in codes where others can read them): set "
                "SMS_TRANSPORT=disabled (no SMS provider is built in)"
            )
        too_wide = too_wide_proxy_networks(self.trusted_proxies)
        if too_wide:
            problems.append(
                f"TRUSTED_PROXIES={','.join(too_wide)} is refused when ENVIRONMENT=production "
                "(a range that wide lets any client choose its own address): name your "
                "proxies' own addresses or networks"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def replica_urls(self) -> list[str]:
        return [url.get_secret_value() for url in self.database_replica_urls]

    @property
    def sms_enabled(self) -> bool:
        return self.sms_transport != "disabled"

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def allows_any_origin(self) -> bool:
        return self.is_development or self.debug

    @property
    def uses_json_logs(self) -> bool:
        if self.log_format is LogFormat.AUTO:
            return self.environment is Environment.PRODUCTION
        return self.log_format is LogFormat.JSON

    def masked(self) -> dict[str, Any]:
        """The effective configuration with every secret replaced, for `check-config`."""
        result: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = _mask(value.get_secret_value())
            elif isinstance(value, list) and value and isinstance(value[0], SecretStr):
                value = [_mask(item.get_secret_value()) for item in value]
            elif isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, Path):
                value = str(value)
            result[name.upper()] = value
        return result


def _mask(secret: str) -> str:
    """Keep a URL's scheme and host readable; hide credentials and keys."""
    if "://" in secret:
        scheme, rest = secret.split("://", 1)
        if "@" in rest:
            rest = "***@" + rest.rsplit("@", 1)[1]
        return f"{scheme}://{rest}"
    return "***" if secret else ""
