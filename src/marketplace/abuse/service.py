"""Automatic temporary blocking of addresses that keep failing or hitting limits."""

from __future__ import annotations

from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

BLOCK_KEY = "ipblock:"


async def record_offence(platform: Platform, ip: str | None, kind: str) -> bool:
    """Count one auth failure or rate-limit hit; block the address past the threshold.
    True when this offence caused a block."""
    if ip is None:
        return False
    settings = platform.settings
    expression = f"{settings.ip_autoblock_threshold}/{settings.ip_autoblock_window_seconds}seconds"
    result = await platform.rate_limiter.hit(expression, "offence", ip)
    if result.allowed:
        return False
    await platform.cache.set(BLOCK_KEY + ip, kind.encode(), settings.ip_autoblock_seconds)
    logger.warning("abuse.ip_blocked", ip=ip, reason=kind, seconds=settings.ip_autoblock_seconds)
    return True


async def is_blocked(platform: Platform, ip: str) -> bool:
    return await platform.cache.get(BLOCK_KEY + ip) is not None


async def unblock(platform: Platform, ip: str) -> None:
    await platform.cache.delete(BLOCK_KEY + ip)
