"""Sign-in with a one-time code, by e-mail or phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.identity.models import OtpChallenge, User
from marketplace.settings import Settings
from tests.identity.conftest import BYPASS_CODE, bearer, last_code, sign_in


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_email_sign_in_creates_the_user_on_first_verify(
    client: httpx.AsyncClient, outbox: Path, db_session: AsyncSession
) -> None:
    tokens = await sign_in(client, outbox, "New.Buyer@Example.COM")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["email"] == "new.buyer@example.com"
    assert me.json()["companies"] == []
    again = await sign_in(client, outbox, "new.buyer@example.com")
    me_again = await client.get("/api/v1/me", headers=bearer(again))
    assert me_again.json()["id"] == me.json()["id"]
    users = await db_session.scalar(
        select(func.count()).where(User.email == "new.buyer@example.com")
    )
    assert users == 1


async def test_phone_sign_in_normalises_to_e164(client: httpx.AsyncClient, outbox: Path) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"phone": "+49 151 2345 6789"})
    assert challenge.status_code == 202
    code = last_code(outbox, "+4915123456789")
    verified = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": code},
    )
    assert verified.status_code == 200
    me = await client.get("/api/v1/me", headers=bearer(verified.json()))
    assert me.json()["phone"] == "+4915123456789"
    assert me.json()["email"] is None


async def test_code_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, outbox: Path, db_session: AsyncSession
) -> None:
    await client.post("/api/v1/auth/otp/request", json={"email": "hash@example.com"})
    code = last_code(outbox, "hash@example.com")
    stored = (
        await db_session.execute(
            select(OtpChallenge).where(OtpChallenge.destination == "hash@example.com")
        )
    ).scalar_one()
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


async def test_answer_is_the_same_for_known_and_unknown_destinations(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    await sign_in(client, outbox, "known@example.com")
    known = await client.post("/api/v1/auth/otp/request", json={"email": "known@example.com"})
    unknown = await client.post("/api/v1/auth/otp/request", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json()) == {"challenge_id", "expires_in"}


async def test_wrong_code_is_refused_and_counted(
    client: httpx.AsyncClient, outbox: Path, db_session: AsyncSession
) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "w@example.com"})
    challenge_id = challenge.json()["challenge_id"]
    right = last_code(outbox, "w@example.com")
    wrong = "000000" if right != "000000" else "111111"
    response = await client.post(
        "/api/v1/auth/otp/verify", json={"challenge_id": challenge_id, "code": wrong}
    )
    assert response.status_code == 401
    assert response.json()["type"] == "urn:marketplace:problem:invalid-code"
    stored = (
        await db_session.execute(
            select(OtpChallenge).where(OtpChallenge.destination == "w@example.com")
        )
    ).scalar_one()
    await db_session.refresh(stored)
    assert stored.attempts == 1
    assert stored.consumed_at is None


async def test_challenge_dies_after_the_maximum_number_of_wrong_codes(
    client: httpx.AsyncClient, outbox: Path, settings: Settings
) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "bf@example.com"})
    challenge_id = challenge.json()["challenge_id"]
    right = last_code(outbox, "bf@example.com")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.otp_max_attempts):
        refused = await client.post(
            "/api/v1/auth/otp/verify", json={"challenge_id": challenge_id, "code": wrong}
        )
        assert refused.status_code == 401
    too_late = await client.post(
        "/api/v1/auth/otp/verify", json={"challenge_id": challenge_id, "code": right}
    )
    assert too_late.status_code == 401


async def test_code_is_single_use(client: httpx.AsyncClient, outbox: Path) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "once@example.com"})
    body = {
        "challenge_id": challenge.json()["challenge_id"],
        "code": last_code(outbox, "once@example.com"),
    }
    assert (await client.post("/api/v1/auth/otp/verify", json=body)).status_code == 200
    assert (await client.post("/api/v1/auth/otp/verify", json=body)).status_code == 401


async def test_expired_code_is_refused(
    client: httpx.AsyncClient, outbox: Path, db_session: AsyncSession
) -> None:
    challenge = await client.post("/api/v1/auth/otp/request", json={"email": "late@example.com"})
    await db_session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.destination == "late@example.com")
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    response = await client.post(
        "/api/v1/auth/otp/verify",
        json={
            "challenge_id": challenge.json()["challenge_id"],
            "code": last_code(outbox, "late@example.com"),
        },
    )
    assert response.status_code == 401


async def test_unknown_challenge_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": "00000000-0000-4000-8000-000000000000", "code": "123456"},
    )
    assert response.status_code == 401


async def test_bypass_code_is_not_accepted_when_not_configured(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    # A code sent that happens to equal the probe would be accepted as itself: ask again
    # (one chance in a million each time), so that the probe is never the right code.
    for _attempt in range(3):
        challenge = await client.post(
            "/api/v1/auth/otp/request", json={"email": "nobypass@example.com"}
        )
        if last_code(outbox, "nobypass@example.com") != BYPASS_CODE:
            break
    assert last_code(outbox, "nobypass@example.com") != BYPASS_CODE
    response = await client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": challenge.json()["challenge_id"], "code": BYPASS_CODE},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com", "phone": "+4915123456789"},
        {"email": "not-an-email"},
        {"email": "a@" + "b" * 250 + ".com"},
        {"phone": "12345"},
        {"phone": "+1 000"},
        {"phone": "+49 abc"},
        {"email": "a@example.com", "role": "owner"},
        {"email": "a@example.com\u0000"},
        {"email": ["a@example.com"]},
    ],
)
async def test_bad_contact_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, body: dict[str, object]
) -> None:
    before = await count(db_session, OtpChallenge)
    response = await client.post("/api/v1/auth/otp/request", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await count(db_session, OtpChallenge) == before


@pytest.mark.parametrize(
    "body",
    [
        {"challenge_id": "not-a-uuid", "code": "123456"},
        {"challenge_id": "00000000-0000-4000-8000-000000000000", "code": "12a456"},
        {"challenge_id": "00000000-0000-4000-8000-000000000000", "code": "1" * 50},
        {"challenge_id": "00000000-0000-4000-8000-000000000000", "code": "123456", "mode": "magic"},
    ],
)
async def test_bad_verify_body_is_a_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/api/v1/auth/otp/verify", json=body)
    assert response.status_code == 422


async def test_sign_in_accepts_pending_invitations(
    app: FastAPI, client: httpx.AsyncClient, outbox: Path, db_session: AsyncSession
) -> None:
    from marketplace.companies.models import Invitation
    from tests.factories import make_company

    company = await make_company(db_session, name="Acme Buying", kind="buyer")
    db_session.add(
        Invitation(
            company_id=company.id,
            channel="email",
            destination="invited@example.com",
            role="purchaser",
            token_hash="x" * 64,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    )
    await db_session.flush()
    tokens = await sign_in(client, outbox, "Invited@example.com")
    me = (await client.get("/api/v1/me", headers=bearer(tokens))).json()
    assert [(c["company_name"], c["role"]) for c in me["companies"]] == [
        ("Acme Buying", "purchaser")
    ]
