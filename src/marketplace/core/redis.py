"""The shared Redis connection pool, when REDIS_URL is configured."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    return Redis.from_url(
        url,
        max_connections=64,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )
