"""Browser sessions: an HttpOnly cookie backed by a session, CSRF on unsafe methods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.identity.conftest import bearer, last_code, sign_in


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # https: the session cookie is Secure, so a client only sends it back over TLS.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        yield client


async def open_browser_session(
    browser: httpx.AsyncClient, outbox: Path
) -> tuple[str, httpx.Response]:
    challenge = await browser.post("/api/v1/auth/otp/request", json={"email": "web@example.com"})
    response = await browser.post(
        "/api/v1/auth/otp/verify",
        json={
            "challenge_id": challenge.json()["challenge_id"],
            "code": last_code(outbox, "web@example.com"),
            "mode": "cookie",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"]), response


async def test_cookie_session_is_httponly_secure_and_lax(
    browser: httpx.AsyncClient, outbox: Path
) -> None:
    csrf, response = await open_browser_session(browser, outbox)
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(cookie for cookie in cookies if cookie.startswith("mp_session="))
    csrf_cookie = next(cookie for cookie in cookies if cookie.startswith("mp_csrf="))
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute.lower() in session_cookie.lower()
    assert "httponly" not in csrf_cookie.lower()
    assert f"mp_csrf={csrf}" in csrf_cookie
    assert "access_token" not in response.json()


async def test_cookie_authenticates_reads(browser: httpx.AsyncClient, outbox: Path) -> None:
    await open_browser_session(browser, outbox)
    me = await browser.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == "web@example.com"


async def test_unsafe_cookie_request_without_csrf_token_is_refused(
    browser: httpx.AsyncClient, outbox: Path
) -> None:
    await open_browser_session(browser, outbox)
    refused = await browser.patch("/api/v1/me", json={"name": "Mallory"})
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:marketplace:problem:csrf-failed"
    wrong = await browser.patch(
        "/api/v1/me", json={"name": "Mallory"}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    assert (await browser.get("/api/v1/me")).json()["name"] == ""


async def test_unsafe_cookie_request_with_csrf_token_succeeds(
    browser: httpx.AsyncClient, outbox: Path
) -> None:
    csrf, _ = await open_browser_session(browser, outbox)
    response = await browser.patch(
        "/api/v1/me", json={"name": "Web User"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Web User"


async def test_csrf_token_of_another_session_is_refused(
    app: FastAPI, browser: httpx.AsyncClient, outbox: Path
) -> None:
    other_csrf, _ = await open_browser_session(browser, outbox)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as second:
        await open_browser_session(second, outbox)
        response = await second.patch(
            "/api/v1/me", json={"name": "X"}, headers={"X-CSRF-Token": other_csrf}
        )
    assert response.status_code == 403


async def test_bearer_requests_need_no_csrf_token(client: httpx.AsyncClient, outbox: Path) -> None:
    tokens = await sign_in(client, outbox)
    response = await client.patch("/api/v1/me", json={"name": "API"}, headers=bearer(tokens))
    assert response.status_code == 200


async def test_logout_ends_the_cookie_session(browser: httpx.AsyncClient, outbox: Path) -> None:
    csrf, response = await open_browser_session(browser, outbox)
    stolen = response.cookies["mp_session"]
    logout = await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert logout.status_code == 204
    assert any(
        cookie.startswith('mp_session=""') or "max-age=0" in cookie.lower()
        for cookie in logout.headers.get_list("set-cookie")
    )
    browser.cookies.set("mp_session", stolen, domain="testserver")
    assert (await browser.get("/api/v1/me")).status_code == 401


async def test_forged_cookie_is_401(browser: httpx.AsyncClient) -> None:
    browser.cookies.set("mp_session", "forged-value", domain="testserver")
    assert (await browser.get("/api/v1/me")).status_code == 401


async def test_bearer_and_api_key_together_are_refused(
    client: httpx.AsyncClient, outbox: Path
) -> None:
    tokens = await sign_in(client, outbox)
    response = await client.get(
        "/api/v1/me", headers={**bearer(tokens), "X-API-Key": "mk_aaaaaaaaaaaa_bbbb"}
    )
    assert response.status_code == 400
