"""The shared Redis connection pool, when REDIS_URL is configured.

Bounded, and blocking: at most `max_connections` connections to Redis per process, and
a caller that finds them all in use waits for one up to `pool_timeout` seconds instead
of failing at once. redis-py's default pool raised "Too many connections" the moment it
ran dry: at 1,000 client connections on two workers its 64 connections ran out and
18,700 cache reads fell through to the database (issue 14), whose pool then timed out,
and the rate limits failed open. With the load shedder in front (at most
`MAX_REQUESTS_IN_FLIGHT` requests per worker, each using one Redis connection at a
time), the pool is sized to the requests in flight plus the background work; the wait
is the safety net, and an error after it is a bounded, logged fall-back (cache miss,
rate limit failing open), never a hang.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def create_redis(url: str, *, max_connections: int = 96, pool_timeout: float = 1.0) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        decode_responses=False,
    )
    # The client owns the pool: closing it (`Cache.close`) closes the pool's connections.
    return Redis.from_pool(pool)
