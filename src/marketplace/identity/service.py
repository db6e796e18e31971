"""Sign-in by one-time code, token rotation, sessions, the current user, API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.access import MemberOf
from marketplace.core.cache import Cache
from marketplace.core.errors import DomainError, ServiceUnavailable
from marketplace.core.events import emit
from marketplace.core.i18n import _, translate
from marketplace.core.notifier import OutgoingMessage, require_channel
from marketplace.core.platform import Platform
from marketplace.core.security import (
    AccessClaims,
    InvalidToken,
    keyed_hash,
    new_numeric_code,
    new_secret,
)
from marketplace.identity import principal_cache, repository
from marketplace.identity.contacts import Channel
from marketplace.identity.errors import (
    ApiKeyNotFound,
    InvalidCredentials,
    InvalidOtpCode,
    RefreshTokenReused,
    SessionNotFound,
)
from marketplace.identity.events import ApiKeyCreated, ApiKeyRevoked
from marketplace.identity.models import ApiKey, AuthSession, OtpChallenge, RefreshToken, User
from marketplace.identity.ports import ActiveSessionLoader, MembershipsLoader, SignInHook
from marketplace.identity.principal_cache import CachedPrincipal
from marketplace.settings import Environment

OTP_PURPOSE = "otp"
REFRESH_PURPOSE = "refresh"
COOKIE_PURPOSE = "cookie-session"
API_KEY_PURPOSE = "api-key"
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str


@dataclass(frozen=True)
class IssuedChallenge:
    challenge_id: uuid.UUID
    expires_in: int
    message: OutgoingMessage


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class IssuedBrowserSession:
    cookie_secret: str
    csrf_token: str
    max_age: int


def _now() -> datetime:
    return datetime.now(UTC)


async def request_otp(
    session: AsyncSession,
    platform: Platform,
    channel: Channel,
    destination: str,
    client: ClientInfo,
    language: str,
) -> IssuedChallenge:
    """Create a challenge and the message carrying its code. The answer is the same
    whether or not an account exists for the destination."""
    settings = platform.settings
    require_channel(settings, "email" if channel == "email" else "sms")
    code = new_numeric_code(6)
    challenge = OtpChallenge(
        id=uuid.uuid4(),
        channel=channel,
        destination=destination,
        expires_at=_now() + timedelta(seconds=settings.otp_ttl_seconds),
        ip=client.ip,
        code_hash="",
    )
    challenge.code_hash = platform.hasher.digest(OTP_PURPOSE, f"{challenge.id}:{code}")
    await repository.add(session, challenge)
    minutes = settings.otp_ttl_seconds // 60
    message = OutgoingMessage(
        channel="email" if channel == "email" else "sms",
        to=destination,
        subject=translate(_("Your sign-in code"), language),
        body=translate(
            _("Your B2B Marketplace sign-in code is {code}. It expires in {minutes} minutes."),
            language,
            code=code,
            minutes=minutes,
        ),
    )
    return IssuedChallenge(challenge.id, settings.otp_ttl_seconds, message)


def _bypass_accepted(platform: Platform, code: str) -> bool:
    bypass = platform.settings.auth_otp_bypass_code
    if bypass is None or platform.settings.environment is Environment.PRODUCTION:
        return False
    return keyed_hash("bypass", code) == keyed_hash("bypass", bypass.get_secret_value())


async def verify_otp(
    session: AsyncSession,
    platform: Platform,
    challenge_id: uuid.UUID,
    code: str,
    on_sign_in: SignInHook,
) -> User | DomainError:
    """The signed-in user, or the failure to report. A failure is returned, not raised,
    so that the spent attempt is committed with the request. `on_sign_in` runs for the
    user in the same transaction (ports.py)."""
    now = _now()
    challenge = await repository.spend_otp_attempt(
        session, challenge_id, platform.settings.otp_max_attempts, now
    )
    if challenge is None:
        return InvalidOtpCode()
    expected = challenge.code_hash
    if not (
        platform.hasher.matches(OTP_PURPOSE, f"{challenge.id}:{code}", expected)
        or _bypass_accepted(platform, code)
    ):
        return InvalidOtpCode()
    if not await repository.consume_otp(session, challenge.id, now):
        return InvalidOtpCode()
    user = await repository.get_or_create_user(session, challenge.channel, challenge.destination)
    user.last_login_at = now
    if await on_sign_in(session, user.id, challenge.channel, challenge.destination):
        # It joined companies: the user's other sessions act for them too from now on.
        await principal_cache.principals_changed(session, platform.cache)
    return user


async def _open_session(
    session: AsyncSession, platform: Platform, user: User, kind: str, client: ClientInfo
) -> AuthSession:
    auth_session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        kind=kind,
        user_agent=client.user_agent[:400],
        ip=client.ip,
        expires_at=_now() + timedelta(days=platform.settings.refresh_token_ttl_days),
    )
    await repository.add(session, auth_session)
    return auth_session


async def _issue_refresh_token(
    session: AsyncSession, platform: Platform, auth_session: AuthSession
) -> str:
    secret = new_secret()
    await repository.add(
        session,
        RefreshToken(
            session_id=auth_session.id,
            token_hash=platform.hasher.digest(REFRESH_PURPOSE, secret),
        ),
    )
    return secret


async def start_token_session(
    session: AsyncSession, platform: Platform, user: User, client: ClientInfo
) -> IssuedTokens:
    auth_session = await _open_session(session, platform, user, "token", client)
    refresh_token = await _issue_refresh_token(session, platform, auth_session)
    access_token, expires_in = platform.tokens.issue_access_token(user.id, auth_session.id)
    return IssuedTokens(access_token, refresh_token, expires_in)


def csrf_token_for(platform: Platform, session_id: uuid.UUID) -> str:
    return platform.hasher.digest("csrf", str(session_id))


async def start_browser_session(
    session: AsyncSession, platform: Platform, user: User, client: ClientInfo
) -> IssuedBrowserSession:
    auth_session = await _open_session(session, platform, user, "browser", client)
    secret = new_secret()
    auth_session.cookie_secret_hash = platform.hasher.digest(COOKIE_PURPOSE, secret)
    await repository.flush(session)
    return IssuedBrowserSession(
        cookie_secret=secret,
        csrf_token=csrf_token_for(platform, auth_session.id),
        max_age=platform.settings.refresh_token_ttl_days * 86_400,
    )


async def refresh(
    session: AsyncSession, platform: Platform, refresh_token: str
) -> IssuedTokens | DomainError:
    """Rotate: the presented token is spent and a new pair issued in the same family.
    Presenting a spent token again revokes the whole family (RFC 9700 4.14.2)."""
    now = _now()
    token_hash = platform.hasher.digest(REFRESH_PURPOSE, refresh_token)
    session_id = await repository.use_refresh_token(session, token_hash, now)
    if session_id is None:
        spent = await repository.find_refresh_token(session, token_hash)
        if spent is None:
            return InvalidCredentials()
        await repository.revoke_session(session, spent.session_id, "refresh_token_reuse", now)
        await principal_cache.principals_changed(session, platform.cache)
        return RefreshTokenReused()
    active = await repository.get_active_session(session, session_id, now)
    if active is None:
        return InvalidCredentials()
    auth_session, user = active
    await repository.touch_session(session, auth_session.id, now)
    new_refresh = await _issue_refresh_token(session, platform, auth_session)
    access_token, expires_in = platform.tokens.issue_access_token(user.id, auth_session.id)
    return IssuedTokens(access_token, new_refresh, expires_in)


async def revoke_session(
    session: AsyncSession, cache: Cache, session_id: uuid.UUID, reason: str
) -> None:
    """End a sign-in session: refused from now on, in every process (principal_cache.py)."""
    await repository.revoke_session(session, session_id, reason, _now())
    await principal_cache.principals_changed(session, cache)


async def list_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    return await repository.list_active_sessions(session, user_id, _now())


async def revoke_own_session(
    session: AsyncSession, cache: Cache, user_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    own = await repository.get_user_session(session, user_id, session_id)
    if own is None or own.revoked_at is not None:
        raise SessionNotFound()
    await repository.revoke_session(session, session_id, "revoked_by_user", _now())
    await principal_cache.principals_changed(session, cache)


def _verified_claims(platform: Platform, token: str) -> AccessClaims:
    """An access token's claims; a bad or expired token is a 401 (`InvalidCredentials`)."""
    try:
        return platform.tokens.verify_access_token(token)
    except InvalidToken as error:
        raise InvalidCredentials() from error


async def authenticate_access_token(
    session: AsyncSession, platform: Platform, token: str
) -> tuple[User, uuid.UUID]:
    claims = _verified_claims(platform, token)
    active = await repository.get_active_session(session, claims.session_id, _now())
    if active is None or active[1].id != claims.user_id:
        raise InvalidCredentials()
    return active[1], claims.session_id


async def authenticate_writer(
    session: AsyncSession, platform: Platform, token: str, load: ActiveSessionLoader
) -> tuple[User, uuid.UUID, tuple[MemberOf, ...]]:
    """A write's bearer token: its active session, read from the database (never the
    cache), with its user and the user's memberships in the same statement."""
    claims = _verified_claims(platform, token)
    active = await load(session, _now(), session_id=claims.session_id)
    if active is None or active[1].id != claims.user_id:
        raise InvalidCredentials()
    return active[1], claims.session_id, active[2]


async def authenticate_cookie_writer(
    session: AsyncSession, platform: Platform, cookie_secret: str, load: ActiveSessionLoader
) -> tuple[User, uuid.UUID, tuple[MemberOf, ...]]:
    """`authenticate_writer` for a browser session's cookie."""
    digest = platform.hasher.digest(COOKIE_PURPOSE, cookie_secret)
    active = await load(session, _now(), cookie_secret_hash=digest)
    if active is None:
        raise InvalidCredentials()
    return active[1], active[0].id, active[2]


async def authenticate_reader(
    session: AsyncSession, platform: Platform, token: str, memberships: MembershipsLoader
) -> tuple[CachedPrincipal, User | None]:
    """The signed-in reader of a bearer token with its memberships, from the principal
    cache when it is current there (principal_cache.py), else from the database (then
    cached). The user's row comes back only when it was read (a miss)."""
    claims = _verified_claims(platform, token)
    key = principal_cache.entry_key(claims.session_id)
    lookup = await principal_cache.read(platform.cache, key, claims.user_id)
    if lookup.found is not None:
        return lookup.found, None
    generation = await principal_cache.begin_generation(platform.cache, lookup)
    active = await repository.get_active_session(session, claims.session_id, _now())
    if active is None or active[1].id != claims.user_id:
        raise InvalidCredentials()
    return await _cache_reader(session, platform, key, generation, *active, memberships)


async def authenticate_cookie_reader(
    session: AsyncSession, platform: Platform, cookie_secret: str, memberships: MembershipsLoader
) -> tuple[CachedPrincipal, User | None]:
    """`authenticate_reader` for a browser session's cookie."""
    digest = platform.hasher.digest(COOKIE_PURPOSE, cookie_secret)
    key = principal_cache.cookie_entry_key(digest)
    lookup = await principal_cache.read(platform.cache, key, None)
    if lookup.found is not None:
        return lookup.found, None
    generation = await principal_cache.begin_generation(platform.cache, lookup)
    active = await repository.get_active_browser_session(session, digest, _now())
    if active is None:
        raise InvalidCredentials()
    return await _cache_reader(session, platform, key, generation, *active, memberships)


async def _cache_reader(
    session: AsyncSession,
    platform: Platform,
    key: str,
    generation: bytes | None,
    auth_session: AuthSession,
    user: User,
    memberships: MembershipsLoader,
) -> tuple[CachedPrincipal, User]:
    found = CachedPrincipal(
        user_id=user.id,
        session_id=auth_session.id,
        is_staff=user.is_staff,
        memberships=await memberships(session, user.id),
    )
    await principal_cache.store(
        platform.cache, key, generation, found, auth_session.expires_at.timestamp()
    )
    return found, user


async def authenticate_session(session: AsyncSession, session_id: uuid.UUID) -> User:
    """The user of a sign-in session that is neither revoked nor expired (a credential
    redeemed earlier, such as a live-updates ticket, stays valid only as long as it)."""
    active = await repository.get_active_session(session, session_id, _now())
    if active is None:
        raise InvalidCredentials()
    return active[1]


async def authenticate_cookie(
    session: AsyncSession, platform: Platform, cookie_secret: str
) -> tuple[User, uuid.UUID]:
    digest = platform.hasher.digest(COOKIE_PURPOSE, cookie_secret)
    active = await repository.get_active_browser_session(session, digest, _now())
    if active is None:
        raise InvalidCredentials()
    return active[1], active[0].id


def _split_api_key(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "mk" or len(parts[1]) != 12:
        return None
    return parts[1]


async def authenticate_api_key(session: AsyncSession, platform: Platform, key: str) -> ApiKey:
    prefix = _split_api_key(key)
    if prefix is None:
        raise InvalidCredentials()
    api_key = await repository.get_api_key_by_prefix(session, prefix)
    now = _now()
    if (
        api_key is None
        or not platform.hasher.matches(API_KEY_PURPOSE, key, api_key.key_hash)
        or api_key.revoked_at is not None
        or (api_key.expires_at is not None and api_key.expires_at <= now)
    ):
        raise InvalidCredentials()
    # Record use at most once a minute: a write per request would serialise a busy key.
    if api_key.last_used_at is None or now - api_key.last_used_at > API_KEY_TOUCH_INTERVAL:
        await repository.touch_api_key(session, api_key.id, now)
        api_key.last_used_at = now
    return api_key


async def create_api_key(
    session: AsyncSession,
    platform: Platform,
    company_id: uuid.UUID,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
    created_by: uuid.UUID | None,
) -> tuple[ApiKey, str]:
    prefix = new_secret(9).replace("-", "x").replace("_", "y")[:12]
    key = f"mk_{prefix}_{new_secret(32)}"
    api_key = ApiKey(
        id=uuid.uuid4(),
        company_id=company_id,
        name=name,
        prefix=prefix,
        key_hash=platform.hasher.digest(API_KEY_PURPOSE, key),
        scopes=[str(scope) for scope in scopes],
        expires_at=expires_at,
        created_by_user_id=created_by,
        created_at=_now(),
    )
    await repository.add(session, api_key)
    await emit(
        session,
        ApiKeyCreated(
            api_key_id=api_key.id,
            company_id=company_id,
            name=name,
            prefix=prefix,
            scopes=api_key.scopes,
            expires_at=expires_at,
        ),
    )
    return api_key, key


async def list_api_keys(session: AsyncSession, company_id: uuid.UUID) -> list[ApiKey]:
    return await repository.list_company_api_keys(session, company_id)


async def revoke_api_key(session: AsyncSession, company_id: uuid.UUID, key_id: uuid.UUID) -> None:
    api_key = await repository.get_company_api_key(session, company_id, key_id)
    if api_key is None:
        raise ApiKeyNotFound()
    if api_key.revoked_at is None:
        await repository.revoke_api_key(session, key_id, _now())
        await emit(
            session,
            ApiKeyRevoked(
                api_key_id=api_key.id,
                company_id=company_id,
                name=api_key.name,
                prefix=api_key.prefix,
            ),
        )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await repository.get_user(session, user_id)


async def find_or_create_user(session: AsyncSession, channel: Channel, destination: str) -> User:
    return await repository.get_or_create_user(session, channel, destination)


async def set_staff(
    session: AsyncSession, cache: Cache | None, user_id: uuid.UUID, is_staff: bool
) -> None:
    """`cache`: the service's shared cache, whose cached principals the change retires;
    None only outside the service (a command granting staff: the grant is seen within
    `principal_cache.TTL_SECONDS` by reads that cached the user before)."""
    await repository.set_staff(session, user_id, is_staff)
    if cache is not None:
        await principal_cache.principals_changed(session, cache)


async def throttle_otp_request(platform: Platform, destination: str, ip: str | None) -> None:
    """A destination cannot be flooded with codes, nor can one address spray many."""
    settings = platform.settings
    per_destination = await platform.rate_limiter.hit(
        settings.rate_limit_otp_per_destination, "otp-destination", destination
    )
    if not per_destination.counted:
        # Fails closed, unlike the request limits (docs/operations.md, "Redis down"):
        # uncounted, codes could be sent (and paid for, and guessed) without limit.
        raise ServiceUnavailable(headers={"Retry-After": "30"})
    per_destination.raise_if_exceeded()
    if ip is not None:
        per_ip = await platform.rate_limiter.hit(settings.rate_limit_otp_per_ip, "otp-ip", ip)
        per_ip.raise_if_exceeded()


async def update_user(
    session: AsyncSession, user: User, name: str | None, locale: str | None
) -> None:
    if name is not None:
        user.name = name
    if locale is not None:
        user.locale = locale
    await repository.flush(session)
