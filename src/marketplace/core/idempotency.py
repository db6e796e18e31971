"""`Idempotency-Key` for unsafe POSTs (orders, checkout, RFQ awards).

Per caller and key, for 24 hours: the same key with the same request returns the
first response (status and body); with a different request, 422; while the first
is still running, 409. The claim is committed on its own before the work starts, so
that concurrent retries see it; the response is stored in the request's own
transaction, so it exists exactly when the work it describes was committed.
Expected failures (4xx) are stored and replayed too; an unexpected error releases
the claim so that a retry can run.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import Base
from marketplace.core.deps import PlatformDep, SessionDep
from marketplace.core.errors import Conflict, DomainError, ValidationFailed, problem_response
from marketplace.core.i18n import _
from marketplace.core.platform import Platform

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        CheckConstraint("state IN ('in_progress', 'completed')", name="state"),
        Index("ix_idempotency_records_expires", "expires_at"),
    )

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency-key-reused"
    message = _("This Idempotency-Key was already used with a different request.")


class IdempotencyInProgress(Conflict):
    code = "idempotency-in-progress"
    message = _("A request with this Idempotency-Key is still being processed.")


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid-idempotency-key"
    message = _("The Idempotency-Key header must be 1 to 255 visible characters.")


@dataclass
class IdempotencyGuard:
    """Handed to the endpoint; `replay` is set when the first response is returned."""

    platform: Platform
    scope: str | None
    key: str | None
    replay: Response | None = None
    claimed: bool = False

    async def complete(self, session: AsyncSession, status: int, body: BaseModel) -> Response:
        """Store the response in the request's transaction and return it."""
        payload = body.model_dump_json().encode()
        if self.claimed:
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key)
                .values(state="completed", response_status=status, response_body=payload)
            )
        return Response(payload, status_code=status, media_type="application/json")

    async def record_failure(self, request: Request, error: DomainError) -> None:
        """An expected failure is the answer to this key too (on its own commit, since
        the request's transaction is rolled back)."""
        if not self.claimed:
            return
        rendered = problem_response(request, error)
        async with self.platform.database.session_factory() as session, session.begin():
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key)
                .values(
                    state="completed",
                    response_status=rendered.status_code,
                    response_body=bytes(rendered.body),
                    response_headers={"content-type": rendered.media_type or "application/json"},
                )
            )

    async def release(self) -> None:
        if not self.claimed:
            return
        async with self.platform.database.session_factory() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
                )
            )


def _scope_of(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return None
    if principal.api_key is not None:
        return f"key:{principal.api_key.id}"
    return f"user:{principal.user.id}"


async def _claim(
    platform: Platform, scope: str, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """Claim the key (committed at once); the existing record when it was taken."""
    now = datetime.now(UTC)
    async with platform.database.session_factory() as session, session.begin():
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
                IdempotencyRecord.expires_at <= now,
            )
        )
        claimed = await session.scalar(
            insert(IdempotencyRecord)
            .values(
                scope=scope,
                key=key,
                request_hash=request_hash,
                state="in_progress",
                expires_at=now + TTL,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if claimed is not None:
            return None
        return (
            await session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )
        ).scalar_one()


async def idempotency(
    request: Request, platform: PlatformDep, session: SessionDep
) -> AsyncIterator[IdempotencyGuard]:
    key = request.headers.get(HEADER)
    scope = _scope_of(request)
    guard = IdempotencyGuard(platform, scope, key)
    if key is None or scope is None:
        yield guard
        return
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or key.strip() != key:
        raise InvalidIdempotencyKey()
    body = await request.body()
    request_hash = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    existing = await _claim(platform, scope, key, request_hash)
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if existing.state != "completed":
            raise IdempotencyInProgress()
        headers = dict(existing.response_headers or {})
        headers["Idempotent-Replayed"] = "true"
        guard.replay = Response(
            existing.response_body or b"",
            status_code=existing.response_status or 200,
            headers=headers,
            media_type=headers.pop("content-type", "application/json"),
        )
        yield guard
        return
    guard.claimed = True
    try:
        yield guard
    except DomainError as error:
        await guard.record_failure(request, error)
        raise
    except BaseException:
        await guard.release()
        raise


Idempotency = Annotated[IdempotencyGuard, Depends(idempotency, scope="function")]
__all__ = ["HEADER", "Idempotency", "IdempotencyGuard", "IdempotencyRecord"]
