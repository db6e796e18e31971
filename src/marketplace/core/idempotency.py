"""`Idempotency-Key` for unsafe POSTs (orders, checkout, RFQ awards, payments).

A key belongs to the caller (user or API key), the company it acts for, and the
endpoint (method and path), as Stripe scopes keys to an account: the same key from
another company, or on another endpoint, is another request. For 24 hours the same
key with the same body returns the first response (status and body); with a
different body, 422; while the first is still running, 409.

Everything happens on the request's own connection, in its own transaction, so a
request never holds one pooled connection while waiting for another (that starved
the pool: with many keyed requests at once, each held its connection and waited for
a second one to claim its key, and all of them timed out). The claim is a
transaction-level advisory lock on the key, taken without waiting: a second request
with the key while the first runs cannot take it (409). Under the lock the stored
response is looked up, and the response is stored in the request's transaction, so
it exists exactly when the work it describes was committed, and the lock goes with
the commit. An expected failure (4xx) is the key's answer too: the work is rolled
back and the failure stored in a transaction of its own on the same session. An
unexpected error stores nothing: the rollback frees the key for a retry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from marketplace.core.access import Principal
from marketplace.core.db import Base
from marketplace.core.deps import SessionDep
from marketplace.core.driver import DriverStatement
from marketplace.core.errors import Conflict, DomainError, ValidationFailed, problem_response
from marketplace.core.i18n import _
from marketplace.core.logging import get_logger
from marketplace.core.platform import Platform

logger = get_logger(__name__)

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
MAX_PATH_LENGTH = 255


class IdempotencyRecord(Base):
    """The answer given to a key: only ever a finished request's (a running one holds
    the key's advisory lock instead)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_expires", "expires_at"),)

    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    path: Mapped[str] = mapped_column(String(MAX_PATH_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB)
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


@dataclass(frozen=True)
class KeyScope:
    """Whose key it is and for what: the record's primary key."""

    principal: str
    company_id: uuid.UUID
    method: str
    path: str
    key: str

    @property
    def lock_id(self) -> int:
        """The key's advisory lock: 64 bits of a digest of the whole scope. Two keys
        whose bits collide (one chance in 2**64) cannot run at the same moment: the
        second answers 409 and its retry runs."""
        digest = hashlib.sha256(
            "\n".join(
                (self.principal, str(self.company_id), self.method, self.path, self.key)
            ).encode()
        ).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def values(self) -> dict[str, object]:
        """The parameters of `_STORED` and `_STORE` that name the record."""
        return {
            "principal": self.principal,
            "company_id": self.company_id,
            "method": self.method,
            "path": self.path,
            "key": self.key,
        }


@dataclass
class IdempotencyGuard:
    """Handed to the endpoint; `replay` is set when the first response is returned."""

    scope: KeyScope | None = None
    request_hash: str = ""
    replay: Response | None = None
    # The key's answer was committed by its previous holder after the claim's snapshot
    # was taken (see `_CLAIM`): this request's work must not commit.
    superseded: bool = False

    @property
    def claimed(self) -> bool:
        return self.scope is not None and self.replay is None and not self.superseded

    async def complete(self, session: AsyncSession, status: int, body: BaseModel) -> Response:
        """Store the response in the request's transaction and return it."""
        payload = body.model_dump_json().encode()
        if self.claimed and not await self._store(session, status, payload, "application/json"):
            # A live answer is stored already: the request that gave it committed in the
            # instant between the claim's snapshot and its lock. This request's work is
            # rolled back (the error), and a retry replays that answer.
            self.superseded = True
            raise IdempotencyInProgress()
        return Response(payload, status_code=status, media_type="application/json")

    async def record_failure(
        self, session: AsyncSession, request: Request, error: DomainError
    ) -> None:
        """An expected failure is the answer to this key too. The work is rolled back
        (which frees the key's lock), then the failure is stored in a transaction of its
        own, on the same session: never a second connection while holding one."""
        if not self.claimed:
            return
        rendered = problem_response(request, error)
        await session.rollback()
        if not await _try_lock(session, self._scope):
            # A retry took the key the moment the rollback freed it; its answer counts.
            await session.rollback()
            return
        await self._store(
            session,
            rendered.status_code,
            bytes(rendered.body),
            rendered.media_type or "application/json",
        )
        await session.commit()

    @property
    def _scope(self) -> KeyScope:
        assert self.scope is not None
        return self.scope

    async def _store(
        self, session: AsyncSession, status: int, body: bytes, content_type: str
    ) -> bool:
        """Store the answer, replacing an expired one: False, storing nothing, when a live
        one exists (its request committed after this one's claim read the records)."""
        stored = await _STORE.fetchval(
            session,
            **self._scope.values(),
            request_hash=self.request_hash,
            response_status=status,
            response_body=body,
            response_headers={"content-type": content_type},
        )
        return stored is not None


def _principal_of(request: Request) -> str | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    if principal.api_key_id is not None:
        return f"key:{principal.api_key_id}"
    return f"user:{principal.user_id}"


def _scope_of(request: Request, key: str) -> KeyScope:
    """The key's scope, from what the route's acting dependency resolved before."""
    principal = _principal_of(request)
    company_id: uuid.UUID | None = getattr(request.state, "acting_company_id", None)
    if principal is None or company_id is None:
        # A route declares its acting company (`acting(...)`) before `Idempotency`.
        raise RuntimeError("Idempotency needs the acting principal and company first")
    path = request.url.path
    if len(path) > MAX_PATH_LENGTH:
        raise RuntimeError(f"an idempotent route's path is longer than {MAX_PATH_LENGTH}")
    return KeyScope(principal, company_id, request.method, path, key)


# The key's statements (the claim with its lookup, the record) run on the driver, in the
# request's transaction (core/driver.py): through SQLAlchemy they cost about 0.3-0.6 ms
# of CPU each, so a keyed order cost about 1.5 ms more than the same order without a
# key; on the driver they cost under 0.1 ms each (bench/README.md, "Changes and their
# measured effect").
_TRY_LOCK = DriverStatement(
    select(func.pg_try_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))
)
_RECORD_NAMED = (
    IdempotencyRecord.principal == bindparam("principal"),
    IdempotencyRecord.company_id == bindparam("company_id"),
    IdempotencyRecord.method == bindparam("method"),
    IdempotencyRecord.path == bindparam("path"),
    IdempotencyRecord.key == bindparam("key"),
)
# The claim and the lookup in one statement (one round trip less per keyed request).
# Its snapshot is taken before the lock: a holder that committed its answer in between
# (and so let the lock go) is not seen, and the request runs its work again. The record
# is the arbiter then: `_STORE` stores nothing over a live answer, and that request
# rolls back (`IdempotencyGuard.complete`): one answer, one piece of work committed.
_claim = select(
    func.pg_try_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)).label("locked")
).subquery("claim")
_CLAIM = DriverStatement(
    select(
        _claim.c.locked,
        IdempotencyRecord.request_hash,
        IdempotencyRecord.response_status,
        IdempotencyRecord.response_body,
        IdempotencyRecord.response_headers,
    ).select_from(
        _claim.outerjoin(
            IdempotencyRecord,
            and_(
                _claim.c.locked,
                *_RECORD_NAMED,
                IdempotencyRecord.expires_at > func.now(),
            ),
        )
    )
)


def _store_statement() -> DriverStatement:
    statement = insert(IdempotencyRecord).values(
        principal=bindparam("principal"),
        company_id=bindparam("company_id"),
        method=bindparam("method"),
        path=bindparam("path"),
        key=bindparam("key"),
        request_hash=bindparam("request_hash"),
        response_status=bindparam("response_status"),
        response_body=bindparam("response_body"),
        response_headers=bindparam("response_headers", type_=JSONB),
        expires_at=func.now() + TTL,
    )
    replaced = {
        column: statement.excluded[column]
        for column in (
            "request_hash",
            "response_status",
            "response_body",
            "response_headers",
            "expires_at",
        )
    }
    return DriverStatement(
        statement.on_conflict_do_update(
            index_elements=["principal", "company_id", "method", "path", "key"],
            set_={**replaced, "created_at": func.now()},
            where=IdempotencyRecord.expires_at <= func.now(),
        ).returning(IdempotencyRecord.expires_at)
    )


_STORE = _store_statement()


async def _try_lock(session: AsyncSession, scope: KeyScope) -> bool:
    """The key's lock, held until the transaction ends; False at once if it is taken."""
    return bool(await _TRY_LOCK.fetchval(session, lock_id=scope.lock_id))


async def _claim_key(session: AsyncSession, scope: KeyScope) -> asyncpg.Record | None:
    """The key's lock taken and its live answer looked up: None when the lock is taken
    by another request; else a row whose `request_hash` is NULL when no answer was
    seen (see `_CLAIM`)."""
    row = await _CLAIM.fetchrow(session, lock_id=scope.lock_id, **scope.values())
    assert row is not None  # the claim's one row, joined or not
    return row if row["locked"] else None


def _replay(record: asyncpg.Record) -> Response:
    headers = dict(record["response_headers"])
    media_type = headers.pop("content-type", "application/json")
    headers["Idempotent-Replayed"] = "true"
    return Response(
        record["response_body"],
        status_code=record["response_status"],
        headers=headers,
        media_type=media_type,
    )


async def idempotency(request: Request, session: SessionDep) -> AsyncIterator[IdempotencyGuard]:
    key = request.headers.get(HEADER)
    if key is None:
        yield IdempotencyGuard()
        return
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or key.strip() != key:
        raise InvalidIdempotencyKey()
    scope = _scope_of(request, key)
    guard = IdempotencyGuard(scope, hashlib.sha256(await request.body()).hexdigest())
    stored = await _claim_key(session, scope)
    if stored is None:
        raise IdempotencyInProgress()
    if stored["request_hash"] is not None:
        if stored["request_hash"] != guard.request_hash:
            raise IdempotencyKeyReused()
        guard.replay = _replay(stored)
        yield guard
        return
    try:
        yield guard
    except DomainError as error:
        try:
            await guard.record_failure(session, request, error)
        except (SQLAlchemyError, OSError) as failure:
            # The client still gets its true answer; unrecorded, a retry runs again.
            logger.warning(
                "idempotency.failure_not_recorded",
                path=scope.path,
                status=error.status_code,
                error=repr(failure),
            )
        raise


async def delete_expired(session: AsyncSession, platform: Platform) -> int:
    """The periodic job: forget the answers whose 24 hours are over (a key used again
    afterwards starts a new request, as it would find the record expired)."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


Idempotency = Annotated[IdempotencyGuard, Depends(idempotency, scope="function")]
__all__ = ["HEADER", "Idempotency", "IdempotencyGuard", "IdempotencyRecord"]
