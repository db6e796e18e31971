"""Every query of the identity domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Uuid, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.driver import EntityQuery
from marketplace.core.repository import add as add
from marketplace.core.repository import flush as flush
from marketplace.identity.models import ApiKey, AuthSession, OtpChallenge, RefreshToken, User


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def find_user_by_contact(
    session: AsyncSession, channel: str, destination: str
) -> User | None:
    column = User.email if channel == "email" else User.phone
    return (await session.execute(select(User).where(column == destination))).scalar_one_or_none()


async def get_or_create_user(session: AsyncSession, channel: str, destination: str) -> User:
    """Race-free: two first sign-ins at once end with one user."""
    values = {"email": destination} if channel == "email" else {"phone": destination}
    index = ["email"] if channel == "email" else ["phone"]
    await session.execute(
        insert(User).values(**values).on_conflict_do_nothing(index_elements=index)
    )
    user = await find_user_by_contact(session, channel, destination)
    assert user is not None
    return user


async def spend_otp_attempt(
    session: AsyncSession, challenge_id: uuid.UUID, max_attempts: int, now: datetime
) -> OtpChallenge | None:
    """Count one try atomically; None when the challenge is unknown, used, expired or
    out of tries (so parallel guesses can never exceed the limit)."""
    statement = (
        update(OtpChallenge)
        .where(
            OtpChallenge.id == challenge_id,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
            OtpChallenge.attempts < max_attempts,
        )
        .values(attempts=OtpChallenge.attempts + 1)
        .returning(OtpChallenge)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def consume_otp(session: AsyncSession, challenge_id: uuid.UUID, now: datetime) -> bool:
    statement = (
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge_id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
        .returning(OtpChallenge.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def use_refresh_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> uuid.UUID | None:
    """Mark a refresh token used; its session id if it was unused, else None."""
    statement = (
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .returning(RefreshToken.session_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def find_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


# Through the driver: the first statement of every request with a bearer token.
_ACTIVE_SESSION = EntityQuery(
    (AuthSession, User),
    lambda columns: columns.join(User, User.id == AuthSession.user_id).where(
        AuthSession.id == bindparam("session_id", type_=Uuid),
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > bindparam("now", type_=DateTime(timezone=True)),
    ),
)


async def get_active_session(
    session: AsyncSession, session_id: uuid.UUID, now: datetime
) -> tuple[AuthSession, User] | None:
    rows = await _ACTIVE_SESSION.fetch(session, session_id=session_id, now=now)
    return (rows[0][0], rows[0][1]) if rows else None


async def get_active_browser_session(
    session: AsyncSession, cookie_secret_hash: str, now: datetime
) -> tuple[AuthSession, User] | None:
    statement = (
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(
            AuthSession.cookie_secret_hash == cookie_secret_hash,
            AuthSession.kind == "browser",
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def revoke_session(
    session: AsyncSession, session_id: uuid.UUID, reason: str, now: datetime
) -> bool:
    statement = (
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(AuthSession.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def touch_session(session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(last_used_at=now)
    )


async def list_active_sessions(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> list[AuthSession]:
    statement = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.last_used_at.desc())
    )
    return list((await session.execute(statement)).scalars())


async def get_user_session(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> AuthSession | None:
    statement = select(AuthSession).where(
        AuthSession.id == session_id, AuthSession.user_id == user_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (
        await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))
    ).scalar_one_or_none()


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


async def list_company_api_keys(session: AsyncSession, company_id: uuid.UUID) -> list[ApiKey]:
    statement = (
        select(ApiKey).where(ApiKey.company_id == company_id).order_by(ApiKey.created_at.desc())
    )
    return list((await session.execute(statement)).scalars())


async def get_company_api_key(
    session: AsyncSession, company_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.id == key_id, ApiKey.company_id == company_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def set_staff(session: AsyncSession, user_id: uuid.UUID, is_staff: bool) -> None:
    await session.execute(update(User).where(User.id == user_id).values(is_staff=is_staff))
