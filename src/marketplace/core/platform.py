"""The infrastructure one process holds: database, cache, broker, metrics.

Built from settings at startup and closed at shutdown. External services when
their URL is configured; the embedded fallback otherwise.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from marketplace.core.bounded_work import BoundedExecutor
from marketplace.core.broker import BrokerProbe
from marketplace.core.cache import Cache, MemoryCache, RedisCache
from marketplace.core.db import Database
from marketplace.core.embedded_postgres import EmbeddedPostgres
from marketplace.core.logging import get_logger
from marketplace.core.migrations import upgrade_to_head
from marketplace.core.ratelimit import RateLimiter
from marketplace.core.redis import create_redis
from marketplace.core.replicas import ReadReplicas
from marketplace.core.security import SecretHasher, TokenSigner
from marketplace.core.storage import LocalStorage, Storage
from marketplace.settings import Settings

logger = get_logger(__name__)


class Platform:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        cache: Cache,
        broker: BrokerProbe | None,
        embedded_postgres: EmbeddedPostgres | None,
        rate_limiter: RateLimiter,
        replicas: ReadReplicas | None = None,
    ) -> None:
        self.settings = settings
        self.rate_limiter = rate_limiter
        self.tokens = TokenSigner(settings)
        self.hasher = SecretHasher(settings)
        self.storage: Storage = LocalStorage(settings.storage_dir)
        self.database = database
        # Where read-only work runs (core/replicas.py): the primary when none is configured.
        self.replicas = replicas or ReadReplicas(database, [])
        self.cache = cache
        self.broker = broker
        self.embedded_postgres = embedded_postgres
        self.image_work = BoundedExecutor(
            "image", settings.image_workers, settings.image_queue_seconds
        )
        self.started_at = time.monotonic()

    @property
    def database_mode(self) -> Literal["external", "embedded"]:
        if self.embedded_postgres is not None:
            return "embedded"
        # The CLI starts the embedded server itself and hands its socket address on.
        embedded_dir = str(self.settings.embedded_postgres_data_dir.expanduser().resolve())
        return "embedded" if f"host={embedded_dir}" in self.database.url else "external"

    @classmethod
    async def start(cls, settings: Settings) -> Platform:
        embedded: EmbeddedPostgres | None = None
        if settings.database_url is None:
            # Started here only when the app runs without the CLI (which starts it first
            # and passes DATABASE_URL on to its workers); migrations follow the same path.
            embedded = EmbeddedPostgres(
                settings.embedded_postgres_data_dir, settings.embedded_postgres_database
            )
            url = await asyncio.to_thread(embedded.start)
            await asyncio.to_thread(upgrade_to_head, url)
        else:
            url = settings.database_url.get_secret_value()

        database = Database(
            url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
            statement_timeout_ms=settings.database_statement_timeout_ms,
        )
        replicas = ReadReplicas(
            database,
            settings.replica_urls,
            max_lag_seconds=settings.database_replica_max_lag_seconds,
            check_interval_seconds=settings.database_replica_check_interval_seconds,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            statement_timeout_ms=settings.database_statement_timeout_ms,
        )
        await replicas.start()
        cache: Cache
        if settings.redis_url is not None:
            redis_url = settings.redis_url.get_secret_value()
            redis = create_redis(
                redis_url,
                max_connections=settings.redis_max_connections,
                pool_timeout=settings.redis_pool_timeout_seconds,
            )
            cache = RedisCache(redis, prefix=settings.redis_key_prefix)
            rate_limiter = RateLimiter.for_redis(redis, settings.redis_key_prefix)
        else:
            cache = MemoryCache()
            rate_limiter = RateLimiter.in_memory()
        broker = (
            BrokerProbe(settings.amqp_url.get_secret_value(), settings.health_check_timeout_seconds)
            if settings.amqp_url is not None
            else None
        )
        platform = cls(settings, database, cache, broker, embedded, rate_limiter, replicas)
        logger.info(
            "platform.started",
            # As /health reports it: `serve` starts the embedded server itself and hands
            # its address on as DATABASE_URL, which is still the embedded database.
            database=platform.database_mode,
            cache=cache.mode,
            broker="external" if broker else "embedded",
            replicas=len(replicas.replicas),
        )
        return platform

    async def close(self) -> None:
        self.image_work.close()
        if self.broker is not None:
            await self.broker.close()
        await self.cache.close()
        await self.replicas.close()
        await self.database.dispose()
        if self.embedded_postgres is not None:
            await asyncio.to_thread(self.embedded_postgres.stop)
        logger.info("platform.stopped")
