"""Access tokens, refresh rotation with reuse detection, logout and sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from marketplace.core.security import TokenSigner
from marketplace.settings import Settings
from tests.conftest import make_settings
from tests.factories import platform_of
from tests.identity.conftest import bearer, sign_in


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient, outbox: Path) -> None:
    first = await sign_in(client, outbox)
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(second))).status_code == 200
    third = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert third.status_code == 200


async def test_replayed_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    first = await sign_in(client, outbox)
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()

    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    assert replay.json()["type"] == "urn:marketplace:problem:refresh-token-reused"

    # The attacker's or the victim's newer tokens die with the family.
    newer = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert newer.status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(second))).status_code == 401


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert response.status_code == 401
    assert response.json()["type"] == "urn:marketplace:problem:invalid-credentials"


async def test_other_sessions_survive_a_replay(client: httpx.AsyncClient, outbox: Path) -> None:
    laptop = await sign_in(client, outbox)
    phone = await sign_in(client, outbox)
    await client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 200


async def test_logout_revokes_access_and_refresh_tokens(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    tokens = await sign_in(client, outbox)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_logout_needs_a_credential(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


async def test_sessions_are_listed_and_revocable(client: httpx.AsyncClient, outbox: Path) -> None:
    laptop = await sign_in(client, outbox)
    phone = await sign_in(client, outbox)
    listed = await client.get("/api/v1/me/sessions", headers=bearer(laptop))
    assert listed.status_code == 200
    sessions = listed.json()
    assert len(sessions) == 2
    assert sum(item["is_current"] for item in sessions) == 1
    other = next(item for item in sessions if not item["is_current"])

    revoked = await client.delete(f"/api/v1/me/sessions/{other['id']}", headers=bearer(laptop))
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(phone))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(laptop))).status_code == 200
    remaining = (await client.get("/api/v1/me/sessions", headers=bearer(laptop))).json()
    assert [item["id"] for item in remaining] == [
        item["id"] for item in sessions if item["is_current"]
    ]


async def test_another_users_session_is_not_found(client: httpx.AsyncClient, outbox: Path) -> None:
    alice = await sign_in(client, outbox, "alice@example.com")
    bob = await sign_in(client, outbox, "bob@example.com")
    bobs_session = (await client.get("/api/v1/me/sessions", headers=bearer(bob))).json()[0]["id"]
    response = await client.delete(f"/api/v1/me/sessions/{bobs_session}", headers=bearer(alice))
    assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=bearer(bob))).status_code == 200
    unknown = await client.delete(f"/api/v1/me/sessions/{uuid.uuid4()}", headers=bearer(alice))
    assert unknown.status_code == 404


async def test_me_can_be_updated(client: httpx.AsyncClient, outbox: Path) -> None:
    tokens = await sign_in(client, outbox)
    response = await client.patch(
        "/api/v1/me", json={"name": "Ada Buyer", "locale": "de"}, headers=bearer(tokens)
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["locale"]) == ("Ada Buyer", "de")


@pytest.mark.parametrize(
    "body",
    [
        {"is_staff": True},
        {"email": "other@example.com"},
        {"name": "x" * 121},
        {"name": "bad\u0007name"},
        {"locale": "xx"},
    ],
)
async def test_me_refuses_fields_it_should_not_set(
    client: httpx.AsyncClient, outbox: Path, body: dict[str, object]
) -> None:
    tokens = await sign_in(client, outbox)
    response = await client.patch("/api/v1/me", json=body, headers=bearer(tokens))
    assert response.status_code == 422
    me = (await client.get("/api/v1/me", headers=bearer(tokens))).json()
    assert me["is_staff"] is False
    assert me["email"] == "buyer@example.com"
    assert me["name"] == ""


def forged(settings: Settings, **changes: object) -> str:
    """A token like ours, with the given claims or signing parameters changed."""
    key = changes.pop("key", None)
    algorithm = str(changes.pop("algorithm", "HS256"))
    kid = changes.pop("kid", "default")
    signer = TokenSigner(settings)
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    secret = key if key is not None else signer.keys["default"]
    if algorithm == "none":
        return jwt.encode(claims, None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
    return jwt.encode(claims, secret, algorithm=algorithm, headers={"kid": kid})  # type: ignore[arg-type]


async def real_claims(app: FastAPI, token: str) -> dict[str, object]:
    signer = platform_of(app).tokens
    return jwt.decode(
        token,
        signer.keys["default"],
        algorithms=["HS256"],
        audience=signer.settings.jwt_audience,
    )


@pytest.mark.parametrize(
    "tamper",
    [
        "expired",
        "alg_none",
        "wrong_audience",
        "wrong_issuer",
        "wrong_key",
        "unknown_kid",
        "missing_exp",
        "garbage",
        "tampered_payload",
        "exp_beyond_any_date",
        "exp_infinite",
        "exp_not_a_number",
        "iat_beyond_any_date",
        "sid_not_a_string",
        "sub_not_a_uuid",
        "jti_an_object",
    ],
)
async def test_forged_or_expired_tokens_are_401_everywhere(
    app: FastAPI, client: httpx.AsyncClient, outbox: Path, settings: Settings, tamper: str
) -> None:
    tokens = await sign_in(client, outbox)
    claims = await real_claims(app, tokens["access_token"])
    base = {"sub": claims["sub"], "sid": claims["sid"]}
    token = {
        "expired": lambda: forged(settings, **base, exp=datetime.now(UTC) - timedelta(minutes=1)),
        "alg_none": lambda: forged(settings, **base, algorithm="none"),
        "wrong_audience": lambda: forged(settings, **base, aud="someone-else"),
        "wrong_issuer": lambda: forged(settings, **base, iss="evil"),
        "wrong_key": lambda: forged(settings, **base, key="k" * 40),
        "unknown_kid": lambda: forged(settings, **base, kid="rotated-out"),
        "missing_exp": lambda: forged(settings, **base, exp=None),
        "garbage": lambda: "not.a.jwt",
        "tampered_payload": lambda: tokens["access_token"][:-4] + "AAAA",
        # Signed with the right key, but claims no date or identifier can hold.
        "exp_beyond_any_date": lambda: forged(settings, **base, exp=10**20),
        "exp_infinite": lambda: forged(settings, **base, exp=float("inf")),
        "exp_not_a_number": lambda: forged(settings, **base, exp="tomorrow"),
        "iat_beyond_any_date": lambda: forged(settings, **base, iat=10**20),
        "sid_not_a_string": lambda: forged(settings, sub=base["sub"], sid=12345),
        "sub_not_a_uuid": lambda: forged(settings, sid=base["sid"], sub=["a", "list"]),
        "jti_an_object": lambda: forged(settings, **base, jti={"nested": True}),
    }[tamper]()
    headers = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 401
    assert me.json()["type"] == "urn:marketplace:problem:invalid-credentials"
    # A public route answers 401 too: a bad credential is never silently ignored.
    public = await client.post(
        "/api/v1/auth/otp/request", json={"email": "x@example.com"}, headers=headers
    )
    assert public.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer  "])
async def test_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


async def test_missing_credential_on_a_protected_route_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_rotated_keys_verify_old_tokens_and_sign_with_the_first(database_url: str) -> None:
    old = make_settings(database_url=database_url, jwt_keys="2026a:" + "a" * 40)
    token, _ = TokenSigner(old).issue_access_token(uuid.uuid4(), uuid.uuid4())
    rotated = TokenSigner(
        make_settings(database_url=database_url, jwt_keys=f"2026b:{'b' * 40},2026a:{'a' * 40}")
    )
    assert rotated.verify_access_token(token).token_id
    new_token, _ = rotated.issue_access_token(uuid.uuid4(), uuid.uuid4())
    assert jwt.get_unverified_header(new_token)["kid"] == "2026b"
    retired = TokenSigner(make_settings(database_url=database_url, jwt_keys=f"2026b:{'b' * 40}"))
    from marketplace.core.security import InvalidToken

    with pytest.raises(InvalidToken):
        retired.verify_access_token(token)


def test_short_jwt_keys_are_refused(database_url: str) -> None:
    with pytest.raises(ValueError, match="JWT_KEYS"):
        TokenSigner(make_settings(database_url=database_url, jwt_keys="k1:short"))


def test_a_remembered_token_is_refused_once_it_expires(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are remembered (TokenSigner.verify_access_token), never past
    their expiry: then the token is checked again, and refused."""
    from jwt import api_jwt

    from marketplace.core import security
    from marketplace.core.security import InvalidToken

    signer = TokenSigner(make_settings(database_url=database_url))
    token, ttl = signer.issue_access_token(uuid.uuid4(), uuid.uuid4())
    first = signer.verify_access_token(token)
    assert signer.verify_access_token(token) is first  # remembered

    later = ttl + security.LEEWAY_SECONDS + 1
    real = security.now_seconds()

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:
            return cls.fromtimestamp(real + later, tz)

    monkeypatch.setattr(security, "now_seconds", lambda: real + later)
    monkeypatch.setattr(api_jwt, "datetime", Later)
    with pytest.raises(InvalidToken):
        signer.verify_access_token(token)
