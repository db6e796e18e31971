"""Who a signed-in reader is, resolved once per sign-in session and kept in the shared
cache for a short while: the session's user, whether they are staff, and the companies
they belong to (`core.access.MemberOf`).

Why (bench/README.md, "Signed-in reads"): every signed-in request looked its session up
and then its memberships, two statements inside a transaction (BEGIN and COMMIT: four
round trips through SQLAlchemy), about a third of a cached signed-in detail's CPU. From
here it is one Redis round trip (`MGET` of the generation and the entry), and a read
whose answer is cached too touches no database at all.

Only safe methods (GET, HEAD) are answered from here (`identity.deps`); every write
authenticates against the database as before.

**Revocation is seen at once, in every process**, as every catalog entry's change is
(`core.cache.invalidate`): each entry names the generation (`GENERATION_KEY`) it was
read in, and anything that changes what an entry holds deletes the generation, at once
and again after its transaction commits (`principals_changed`): a session revoked (sign
out, a sign-in session ended, a refresh token reused), a user's staff flag, a membership
added, changed or removed, a company's name, kind or country. The processes share the
cache, so the next signed-in read of any process misses and reads the database. When no
generation exists, a reader stores a new one *before* it reads the database, so that a
change committed meanwhile deletes it after that read and the entry is never current.
An entry also ends with its session (`expires_at`) and after `TTL_SECONDS` at most: what
changes outside any request (a script editing the database) is seen within that.

The generation is one for all users: the changes that retire it are rare against the
reads it serves, and one key needs no list of a company's members.

A cache that is down fails nothing: the reader goes to the database (as before), the
writer's deletion is logged and the entries expire by their time-to-live.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core import cache as core_cache
from marketplace.core.access import ActingCompany, MemberOf
from marketplace.core.cache import CACHE_ERRORS, Cache
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

GENERATION_KEY: Final = "identity:principals:generation"
TTL_SECONDS: Final = 60.0


def entry_key(session_id: uuid.UUID) -> str:
    """A bearer token's entry: the sign-in session it names."""
    return f"identity:principal:v1:{session_id}"


def cookie_entry_key(cookie_digest: str) -> str:
    """A browser session's entry: the keyed digest of its cookie's secret (the secret
    itself is never stored), which is how the database finds that session too."""
    return f"identity:principal:v1:cookie:{cookie_digest}"


@dataclass(frozen=True, slots=True)
class CachedPrincipal:
    user_id: uuid.UUID
    session_id: uuid.UUID
    is_staff: bool
    memberships: tuple[MemberOf, ...]


@dataclass(frozen=True, slots=True)
class Lookup:
    """What one round trip found: the current generation (None: none yet) and the entry,
    if it is current."""

    generation: bytes | None
    found: CachedPrincipal | None


async def read(cache: Cache, key: str, user_id: uuid.UUID | None) -> Lookup:
    """The entry when it is of the current generation, of this user (when the credential
    names one) and not past its session's end."""
    try:
        generation, entry = await cache.get_many(GENERATION_KEY, key)
    except CACHE_ERRORS as error:
        logger.warning("identity.principal_cache.read_failed", error=repr(error))
        return Lookup(None, None)
    if generation is None or entry is None:
        return Lookup(generation, None)
    stored = orjson.loads(entry)
    if (
        stored["g"] != generation.decode()
        or (user_id is not None and stored["u"] != str(user_id))
        or stored["x"] <= time.time()
    ):
        return Lookup(generation, None)
    return Lookup(
        generation,
        CachedPrincipal(
            user_id=uuid.UUID(stored["u"]),
            session_id=uuid.UUID(stored["i"]),
            is_staff=stored["s"],
            memberships=tuple(_decode_membership(item) for item in stored["m"]),
        ),
    )


async def begin_generation(cache: Cache, lookup: Lookup) -> bytes | None:
    """The generation an entry read from the database now will be stored under: the
    current one, or a new one stored before the database is read (see the module)."""
    if lookup.generation is not None:
        return lookup.generation
    generation = uuid.uuid4().hex.encode()
    try:
        await cache.set(GENERATION_KEY, generation, TTL_SECONDS * 10)
    except CACHE_ERRORS as error:
        logger.warning("identity.principal_cache.write_failed", error=repr(error))
        return None
    return generation


async def store(
    cache: Cache,
    key: str,
    generation: bytes | None,
    principal: CachedPrincipal,
    session_expires_at: float,
) -> None:
    """Keep what the database said, under the generation `begin_generation` gave."""
    if generation is None:
        return
    ttl = min(TTL_SECONDS, session_expires_at - time.time())
    if ttl <= 0:
        return
    encoded = orjson.dumps(
        {
            "g": generation.decode(),
            "u": str(principal.user_id),
            "i": str(principal.session_id),
            "s": principal.is_staff,
            "x": session_expires_at,
            "m": [_encode_membership(member) for member in principal.memberships],
        }
    )
    try:
        await cache.set(key, encoded, ttl)
    except CACHE_ERRORS as error:
        logger.warning("identity.principal_cache.write_failed", error=repr(error))


async def principals_changed(session: AsyncSession, cache: Cache) -> None:
    """Retire every cached principal, now and once `session`'s transaction commits: a
    session was revoked, or a user's staff flag, memberships or company changed."""
    await core_cache.invalidate(session, cache, [GENERATION_KEY])


def _encode_membership(member: MemberOf) -> list[Any]:
    company = member.company
    return [
        str(company.id),
        company.kind,
        company.name,
        company.country,
        member.role,
        None if member.spending_limit is None else str(member.spending_limit),
        None if member.monthly_budget is None else str(member.monthly_budget),
    ]


def _decode_membership(item: list[Any]) -> MemberOf:
    company_id, kind, name, country, role, spending_limit, monthly_budget = item
    return MemberOf(
        company=ActingCompany(id=uuid.UUID(company_id), kind=kind, name=name, country=country),
        role=role,
        spending_limit=None if spending_limit is None else Decimal(spending_limit),
        monthly_budget=None if monthly_budget is None else Decimal(monthly_budget),
    )
