"""Abuse protection: staff-managed IP rules, automatic temporary blocks of addresses
that keep failing sign-in or going past the per-address limit, and the limits per user
and per API key (which never count towards blocking the address).

Precedence for an address: an active `allow` rule exempts it from deny rules,
automatic blocks and the per-address limit; otherwise an active `deny` rule refuses
it; otherwise an automatic block refuses it until the block expires.

Rules live in PostgreSQL and are read through the shared cache (a short TTL, and
dropped on every change so that changes apply at once on every instance). Blocks and
offence counters live only in the shared cache and the rate limiter: they are
temporary by nature. When the shared cache is unreachable the rules last read (or
re-read from the database) keep applying, blocks are not enforced, and the limits
fail open; see `core.ratelimit`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.abuse import repository
from marketplace.abuse.errors import (
    IpBlocked,
    IpBlockNotFound,
    IpDenied,
    IpRuleNotFound,
    RuleLocksOutRequester,
)
from marketplace.abuse.events import IpBlockLifted, IpRuleCreated, IpRuleDeleted
from marketplace.abuse.models import IpRule
from marketplace.abuse.schemas import IpBlockRead, IpRuleCreate, IpRuleRead, RuleAction
from marketplace.core.client_ip import Address, Network, limit_key, parse_address
from marketplace.core.errors import ServiceUnavailable
from marketplace.core.events import emit
from marketplace.core.logging import get_logger
from marketplace.core.middleware.abuse import (
    IpVerdict,
)
from marketplace.core.pagination import (
    Page,
    decode_time_keyset,
)
from marketplace.core.platform import Platform
from marketplace.core.ratelimit import (
    ABSENT,
    ANY,
    SHARED_STORE_ERRORS,
    RateLimiter,
    RateLimitResult,
    StoreOutage,
    digest,
)
from marketplace.core.repository import page_of
from marketplace.settings import Settings

logger = get_logger(__name__)

BLOCK_KEY = "ipblock:"
RULES_KEY = "ip-rules"
RULES_CACHE_SECONDS = 60.0


# --- Automatic blocks -------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    address: str
    reason: str
    until: float

    def seconds_left(self) -> int:
        return max(math.ceil(self.until - time.time()), 1)


def _offence_limit(settings: Settings) -> str:
    return f"{settings.ip_autoblock_threshold}/{settings.ip_autoblock_window_seconds}seconds"


async def record_offence(platform: Platform, ip: str | None, kind: str) -> bool:
    """Count one offence of the address (a failed sign-in or credential, a request past
    the per-address limit); the offence that reaches the threshold within the window
    blocks the address. True when this offence caused a block."""
    if ip is None:
        return False
    settings = platform.settings
    address = limit_key(ip)
    expression = _offence_limit(settings)
    counted = await platform.rate_limiter.hit(expression, "offence", address)
    if not counted.counted or counted.remaining > 0:
        return False
    seconds = settings.ip_autoblock_seconds
    value = orjson.dumps({"reason": kind, "until": time.time() + seconds})
    try:
        await platform.cache.set(BLOCK_KEY + address, value, seconds)
        # A lifted or expired block starts from a clean count.
        await platform.rate_limiter.clear(expression, "offence", address)
    except SHARED_STORE_ERRORS as error:
        logger.warning("abuse.block_not_stored", address=address, error=type(error).__name__)
        return False
    logger.warning("abuse.ip_blocked", address=address, reason=kind, seconds=seconds)
    return True


async def block_of(platform: Platform, ip: str) -> Block | None:
    address = limit_key(ip)
    raw = await platform.cache.get(BLOCK_KEY + address)
    return None if raw is None else _parse_block(platform, address, raw)


def _parse_block(platform: Platform, address: str, raw: bytes) -> Block:
    try:
        data = orjson.loads(raw)
        return Block(address, str(data["reason"]), float(data["until"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return Block(address, "unknown", time.time() + platform.settings.ip_autoblock_seconds)


async def _block_or_unavailable(platform: Platform, ip: str) -> Block | None:
    try:
        return await block_of(platform, ip)
    except SHARED_STORE_ERRORS as error:
        raise ServiceUnavailable() from error


async def describe_block(platform: Platform, ip: str) -> IpBlockRead:
    block = await _block_or_unavailable(platform, ip)
    if block is None:
        raise IpBlockNotFound()
    return IpBlockRead(address=block.address, reason=block.reason, expires_in=block.seconds_left())


async def unblock(
    session: AsyncSession, platform: Platform, ip: str, staff_user_id: uuid.UUID | None = None
) -> None:
    """Lift an automatic block and forget the address's offences."""
    block = await _block_or_unavailable(platform, ip)
    if block is None:
        raise IpBlockNotFound()
    try:
        await platform.cache.delete(BLOCK_KEY + block.address)
        await platform.rate_limiter.clear(
            _offence_limit(platform.settings), "offence", block.address
        )
    except SHARED_STORE_ERRORS as error:
        raise ServiceUnavailable() from error
    logger.info("abuse.ip_unblocked", address=block.address, by=str(staff_user_id))
    await emit(session, IpBlockLifted(address=block.address, reason=block.reason))


# --- Rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    network: Network
    allow: bool
    expires_at: float | None


class RuleSet:
    """Active rules in the form checked on every request."""

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def from_models(cls, rules: Sequence[IpRule]) -> RuleSet:
        return cls.from_json(_rules_json(rules))

    @classmethod
    def from_json(cls, raw: bytes) -> RuleSet:
        return cls(
            [
                _Rule(ipaddress.ip_network(cidr), action == "allow", expires_at)
                for cidr, action, expires_at in orjson.loads(raw)
            ]
        )

    def action_for(self, address: Address, now: float) -> RuleAction | None:
        denied = False
        for rule in self.rules:
            if rule.expires_at is not None and rule.expires_at <= now:
                continue
            if address in rule.network:
                if rule.allow:
                    return "allow"
                denied = True
        return "deny" if denied else None


def _rules_json(rules: Sequence[IpRule]) -> bytes:
    return orjson.dumps(
        [
            [
                str(rule.cidr),
                rule.action,
                rule.expires_at.timestamp() if rule.expires_at is not None else None,
            ]
            for rule in rules
        ]
    )


async def _read_rules(platform: Platform) -> bytes:
    # The middleware has no request session: a short read-only one of its own.
    async with platform.database.session_factory() as session:
        return _rules_json(await repository.active_rules(session, datetime.now(UTC)))


class IpGuard:
    """Decides what each request's address may do; the application holds one.

    Per request it costs one round trip to the shared cache, reading the rules and
    the address's block together; with the per-address limit to count (`limit`), the
    same round trip counts it (`RateLimiter.hit_guarded`) when the rules read are the
    ones this process holds and say neither allow nor deny for the address, and no
    block is there: exactly when the limit would have been counted after the verdict.
    Otherwise (the rules changed, or are not cached) nothing is counted in that trip
    and the rate-limit middleware counts the request itself, as before.

    It keeps only derived copies: the parsed form of the cached rules (parsed again
    only when the cached bytes change) and, while the shared cache is unreachable, the
    rules last read, re-read from the database at most once per cache TTL.
    """

    def __init__(self) -> None:
        self._raw: bytes | None = None
        self._digest = ""
        self._rules = RuleSet(())
        self._fresh_at = -math.inf
        self._load_lock = asyncio.Lock()
        self._loads = 0
        self.cache_outage = StoreOutage("abuse cache")
        self.database_outage = StoreOutage("ip rules database")

    async def _load(self, platform: Platform) -> bytes | None:
        """One database read at a time per process; waiters take its result."""
        if self.database_outage.active:
            return None
        loads_before = self._loads
        async with self._load_lock:
            if self._loads != loads_before and self._raw is not None:
                return self._raw
            try:
                raw = await _read_rules(platform)
            except (SQLAlchemyError, OSError) as error:
                self.database_outage.failed(error)
                return None
            self.database_outage.succeeded()
            self._loads += 1
            return raw

    async def _read_cache(
        self, platform: Platform, block_key: str, also_read: str | None
    ) -> tuple[bool, bytes | None, bytes | None, bytes | None]:
        """(reachable, cached rules, the address's block, the entry `also_read`) in one
        round trip."""
        if self.cache_outage.active:
            return False, None, None, None
        try:
            rules, block, *also = await platform.cache.get_many(
                RULES_KEY, block_key, *([also_read] if also_read else [])
            )
            rules = await self._cached_or_loaded(platform, rules)
        except SHARED_STORE_ERRORS as error:
            self.cache_outage.failed(error)
            return False, None, None, None
        self.cache_outage.succeeded()
        return True, rules, block, also[0] if also else None

    async def _cached_or_loaded(self, platform: Platform, rules: bytes | None) -> bytes | None:
        if rules is None:
            rules = await self._load(platform)
            if rules is not None:
                await platform.cache.set(RULES_KEY, rules, RULES_CACHE_SECONDS)
        return rules

    async def _read_cache_counting(
        self, platform: Platform, block_key: str, also_read: str | None, limit: str, address: str
    ) -> tuple[bool, bytes | None, bytes | None, bytes | None, RateLimitResult | None]:
        """`_read_cache` and the per-address limit in one round trip: counted only if
        the cached rules are the ones held (`_digest`) and no block is there."""
        reads = [(RULES_KEY, self._digest), (block_key, ABSENT)]
        if also_read:
            reads.append((also_read, ANY))
        try:
            (rules, block, *also), counted = await platform.rate_limiter.hit_guarded(
                platform.cache, reads, limit, "ip", address
            )
            rules = await self._cached_or_loaded(platform, rules)
        except SHARED_STORE_ERRORS as error:
            self.cache_outage.failed(error)
            # Failing open, as the limiter does: not tried a second time for this request.
            return False, None, None, None, RateLimiter.uncounted(limit)
        self.cache_outage.succeeded()
        # None when the rules changed or a block is there: nothing counted; the
        # rate-limit middleware counts the request after the verdict, if it goes on.
        return True, rules, block, also[0] if also else None, counted

    def _counts_in_the_same_trip(self, platform: Platform, address: Address) -> bool:
        return (
            self._raw is not None
            and not self.cache_outage.active
            and platform.rate_limiter.can_guard(platform.cache)
            and self._rules.action_for(address, time.time()) is None
        )

    def _parsed(self, raw: bytes) -> RuleSet:
        if raw != self._raw:
            self._rules = RuleSet.from_json(raw)
            self._raw = raw
            self._digest = digest(raw)
        self._fresh_at = time.monotonic()
        return self._rules

    async def _rules_from(self, platform: Platform, reachable: bool, raw: bytes | None) -> RuleSet:
        if raw is None and (
            not reachable and time.monotonic() - self._fresh_at >= RULES_CACHE_SECONDS
        ):
            raw = await self._load(platform)
        if raw is None:
            return self._rules  # the last rules known; nothing better is reachable
        return self._parsed(raw)

    async def verdict(
        self, platform: Platform, ip: str, limit: str | None = None, also_read: str | None = None
    ) -> IpVerdict:
        """What the address may do; with `limit`, the request is also counted against
        that per-address limit when the verdict lets it through (`IpVerdict.counted`);
        with `also_read`, that cache entry is read in the same round trip
        (`IpVerdict.prefetched`)."""
        address = parse_address(ip)
        if address is None:
            return IpVerdict()
        block_key = BLOCK_KEY + limit_key(ip)
        counted: RateLimitResult | None = None
        if limit is not None and self._counts_in_the_same_trip(platform, address):
            reachable, raw_rules, raw_block, also, counted = await self._read_cache_counting(
                platform, block_key, also_read, limit, limit_key(ip)
            )
        else:
            reachable, raw_rules, raw_block, also = await self._read_cache(
                platform, block_key, also_read
            )
        rules = await self._rules_from(platform, reachable, raw_rules)
        action = rules.action_for(address, time.time())
        prefetched = (also_read, also) if also_read and reachable else None
        if action == "allow":
            return IpVerdict(exempt=True, prefetched=prefetched)
        if action == "deny":
            return IpVerdict(refusal=IpDenied())
        if raw_block is None:
            return IpVerdict(counted=counted, prefetched=prefetched)
        seconds = _parse_block(platform, limit_key(ip), raw_block).seconds_left()
        return IpVerdict(
            refusal=IpBlocked(retry_after=seconds, headers={"Retry-After": str(seconds)})
        )


async def invalidate_rules(platform: Platform) -> None:
    """Drop the cached rules so that every instance reads them again. Called before
    the change is committed and once more after it (the router's background task), so
    that a read racing the commit cannot keep the old rules cached for a whole TTL."""
    try:
        await platform.cache.delete(RULES_KEY)
    except SHARED_STORE_ERRORS as error:
        logger.warning("abuse.rules_not_invalidated", error=type(error).__name__)


def _rule_read(rule: IpRule) -> IpRuleRead:
    return IpRuleRead(
        id=rule.id,
        cidr=str(rule.cidr),
        action="allow" if rule.action == "allow" else "deny",
        note=rule.note,
        created_by_user_id=rule.created_by_user_id,
        created_at=rule.created_at,
        expires_at=rule.expires_at,
    )


async def list_rules(session: AsyncSession, limit: int, cursor: str | None) -> Page[IpRuleRead]:
    rules = await repository.list_rules(session, limit + 1, decode_time_keyset(cursor))
    return page_of(rules, limit, _rule_read)


async def _ensure_requester_keeps_access(session: AsyncSession, requester_ip: str | None) -> None:
    """Staff cannot deny their own address through the API (nobody could undo it)."""
    address = parse_address(requester_ip) if requester_ip else None
    if address is None:
        return
    rules = RuleSet.from_models(await repository.active_rules(session, datetime.now(UTC)))
    if rules.action_for(address, time.time()) == "deny":
        raise RuleLocksOutRequester(ip=str(address))


def _rule_fields(rule: IpRule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "cidr": str(rule.cidr),
        "action": rule.action,
        "note": rule.note,
        "expires_at": rule.expires_at,
    }


async def create_rule(
    session: AsyncSession,
    platform: Platform,
    data: IpRuleCreate,
    staff_user_id: uuid.UUID,
    requester_ip: str | None,
) -> IpRuleRead:
    rule = await repository.add_rule(
        session,
        IpRule(
            id=uuid.uuid4(),
            cidr=data.cidr,
            action=data.action,
            note=data.note,
            expires_at=data.expires_at,
            created_by_user_id=staff_user_id,
        ),
    )
    await _ensure_requester_keeps_access(session, requester_ip)
    await emit(session, IpRuleCreated(**_rule_fields(rule)))
    await invalidate_rules(platform)
    logger.info(
        "abuse.ip_rule_created",
        rule_id=str(rule.id),
        cidr=data.cidr,
        action=data.action,
        by=str(staff_user_id),
    )
    return _rule_read(rule)


async def delete_rule(
    session: AsyncSession,
    platform: Platform,
    rule_id: uuid.UUID,
    staff_user_id: uuid.UUID,
    requester_ip: str | None,
) -> None:
    rule = await repository.delete_rule(session, rule_id)
    if rule is None:
        raise IpRuleNotFound()
    await _ensure_requester_keeps_access(session, requester_ip)
    await emit(session, IpRuleDeleted(**_rule_fields(rule)))
    await invalidate_rules(platform)
    logger.info(
        "abuse.ip_rule_deleted",
        rule_id=str(rule_id),
        cidr=str(rule.cidr),
        action=rule.action,
        by=str(staff_user_id),
    )
