"""One-time codes cannot be flooded to a destination nor guessed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import func, select

from marketplace.identity.models import OtpChallenge
from marketplace.settings import Settings
from tests.abuse.conftest import Sessions, client_from, email, last_code, running

REQUEST = "/api/v1/auth/otp/request"
VERIFY = "/api/v1/auth/otp/verify"


async def challenges_for(sessions: Sessions, destination: str) -> int:
    async with sessions() as session:
        statement = select(func.count()).where(OtpChallenge.destination == destination)
        return int(await session.scalar(statement) or 0)


def messages_to(outbox: Path, destination: str) -> int:
    lines = outbox.read_text().splitlines() if outbox.exists() else []
    return sum(1 for line in lines if json.loads(line)["to"] == destination)


async def test_codes_to_one_destination_are_limited(
    abuse_settings: Callable[..., Settings], sessions: Sessions, outbox: Path
) -> None:
    settings = abuse_settings(rate_limit_otp_per_destination="3/hour")
    victim = email("victim")
    async with running(settings) as app, client_from(app) as client:
        for _ in range(3):
            assert (await client.post(REQUEST, json={"email": victim})).status_code == 202
        refused = await client.post(REQUEST, json={"email": victim})
        # From another address too: the limit belongs to the destination.
        async with client_from(app, "203.0.113.60") as elsewhere:
            refused_elsewhere = await elsewhere.post(REQUEST, json={"email": victim})
        other = await client.post(REQUEST, json={"email": email("bystander")})
    assert refused.status_code == 429
    assert refused.json()["type"] == "urn:marketplace:problem:rate-limited"
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused_elsewhere.status_code == 429
    assert other.status_code == 202
    # Refused requests created no challenge and sent nothing.
    assert await challenges_for(sessions, victim) == 3
    assert messages_to(outbox, victim) == 3


async def test_codes_requested_from_one_address_are_limited(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_otp_per_ip="3/hour")
    async with running(settings) as app, client_from(app) as client:
        statuses = [
            (await client.post(REQUEST, json={"email": email("spray")})).status_code
            for _ in range(4)
        ]
        async with client_from(app, "203.0.113.61") as elsewhere:
            other_address = await elsewhere.post(REQUEST, json={"email": email("spray")})
    assert statuses == [202, 202, 202, 429]
    assert other_address.status_code == 202


async def test_a_challenge_dies_after_the_allowed_wrong_codes_even_for_the_right_one(
    abuse_settings: Callable[..., Settings], sessions: Sessions, outbox: Path
) -> None:
    settings = abuse_settings(otp_max_attempts=3)
    user = email("guessed")
    async with running(settings) as app, client_from(app) as client:
        challenge = (await client.post(REQUEST, json={"email": user})).json()["challenge_id"]
        code = last_code(outbox, user)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(3):
            response = await client.post(VERIFY, json={"challenge_id": challenge, "code": wrong})
            assert response.status_code == 401
            assert response.json()["type"] == "urn:marketplace:problem:invalid-code"
        too_late = await client.post(VERIFY, json={"challenge_id": challenge, "code": code})
        assert too_late.status_code == 401
        assert too_late.json()["type"] == "urn:marketplace:problem:invalid-code"

        # The code was right: a fresh challenge answered at once signs in.
        fresh = (await client.post(REQUEST, json={"email": user})).json()["challenge_id"]
        signed_in = await client.post(
            VERIFY, json={"challenge_id": fresh, "code": last_code(outbox, user)}
        )
        assert signed_in.status_code == 200
    async with sessions() as session:
        attempts = await session.scalar(
            select(OtpChallenge.attempts).where(OtpChallenge.id == challenge)
        )
        consumed = await session.scalar(
            select(OtpChallenge.consumed_at).where(OtpChallenge.id == challenge)
        )
    assert attempts == 3
    assert consumed is None


async def test_parallel_guesses_cannot_exceed_the_attempts(
    abuse_settings: Callable[..., Settings], sessions: Sessions, outbox: Path
) -> None:
    settings = abuse_settings(otp_max_attempts=3)
    user = email("raced")
    async with running(settings) as app, client_from(app) as client:
        challenge = (await client.post(REQUEST, json={"email": user})).json()["challenge_id"]
        code = last_code(outbox, user)
        wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 21)]

        async def guess(attempt: str) -> httpx.Response:
            return await client.post(VERIFY, json={"challenge_id": challenge, "code": attempt})

        responses = await asyncio.gather(*(guess(attempt) for attempt in wrong))
        assert {response.status_code for response in responses} == {401}
        assert (await guess(code)).status_code == 401
    async with sessions() as session:
        attempts = await session.scalar(
            select(OtpChallenge.attempts).where(OtpChallenge.id == challenge)
        )
    assert attempts == 3
