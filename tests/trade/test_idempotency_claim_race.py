"""The key's claim and its lookup are one statement, whose snapshot predates the lock:
an answer its previous holder committed in between is not seen by the lookup. The
record is then the arbiter: the late request stores nothing over that answer and its
work does not commit, so the key still has one answer and one piece of work."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from marketplace.core.db import to_async_url
from marketplace.core.idempotency import (
    IdempotencyGuard,
    IdempotencyInProgress,
    KeyScope,
    _claim_key,
)


class Answer(BaseModel):
    order: str


async def test_an_answer_committed_after_the_claim_wins_over_the_late_request(
    database_url: str,
) -> None:
    scope = KeyScope(f"user:{uuid.uuid4()}", uuid.uuid4(), "POST", "/api/v1/orders", "race")
    engine = create_async_engine(to_async_url(database_url))
    other = await asyncpg.connect(database_url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            claimed = await _claim_key(session, scope)
            assert claimed is not None  # the lock is ours
            assert claimed["request_hash"] is None  # no answer seen
            # The previous holder's answer, committed after the claim's snapshot.
            await other.execute(
                "INSERT INTO idempotency_records (principal, company_id, method, path,"
                " key, request_hash, response_status, response_body, response_headers,"
                " expires_at) VALUES ($1, $2, $3, $4, $5, 'first', 201, 'first answer',"
                " '{}', now() + interval '1 hour')",
                scope.principal,
                scope.company_id,
                scope.method,
                scope.path,
                scope.key,
            )
            guard = IdempotencyGuard(scope, "second")
            # A domain error: the request's transaction, its work, is rolled back.
            with pytest.raises(IdempotencyInProgress):
                await guard.complete(session, 201, Answer(order="second"))
            # Nothing of the key's is left for the failure to record either.
            assert not guard.claimed
        stored = await other.fetch(
            "SELECT request_hash, response_body FROM idempotency_records"
            " WHERE principal = $1 AND key = $2",
            scope.principal,
            scope.key,
        )
        assert [(row["request_hash"], bytes(row["response_body"])) for row in stored] == [
            ("first", b"first answer")
        ]
    finally:
        await other.execute("DELETE FROM idempotency_records WHERE principal = $1", scope.principal)
        await other.close()
        await engine.dispose()
