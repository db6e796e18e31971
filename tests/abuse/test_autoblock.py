"""Addresses that keep hitting limits or failing sign-in are blocked for a while."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from marketplace.settings import Settings
from tests.abuse.conftest import Sessions, api_key_headers, client_from, running, signed_in_user

PUBLIC = "/api/openapi.json"
REFRESH = "/api/v1/auth/refresh"
FORGED_REFRESH = {"refresh_token": "forged-refresh-token-0123456789"}


def assert_blocked(response: httpx.Response, max_seconds: int) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:marketplace:problem:ip-blocked"
    assert 0 < int(response.headers["retry-after"]) <= max_seconds


async def test_repeated_rate_limit_hits_block_the_address(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_anonymous="2/hour", ip_autoblock_threshold=3)
    async with running(settings) as app, client_from(app, "203.0.113.70") as client:
        responses = [await client.get(PUBLIC) for _ in range(6)]
        assert [response.status_code for response in responses] == [200, 200, 429, 429, 429, 403]
        assert_blocked(responses[-1], max_seconds=900)
        # A blocked address is refused everywhere but health checks; others are unaffected.
        assert (await client.post(REFRESH, json=FORGED_REFRESH)).status_code == 403
        assert (await client.get("/health/live")).status_code == 200
        async with client_from(app, "203.0.113.71") as neighbour:
            assert (await neighbour.get(PUBLIC)).status_code == 200


async def test_failed_sign_ins_block_the_address(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(ip_autoblock_threshold=3)
    async with running(settings) as app, client_from(app, "203.0.113.72") as client:
        statuses = [(await client.post(REFRESH, json=FORGED_REFRESH)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        assert_blocked(await client.get(PUBLIC), max_seconds=900)


async def test_a_block_expires_by_itself(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(ip_autoblock_threshold=2, ip_autoblock_seconds=2)
    async with running(settings) as app, client_from(app, "203.0.113.73") as client:
        for _ in range(2):
            assert (await client.post(REFRESH, json=FORGED_REFRESH)).status_code == 401
        assert_blocked(await client.get(PUBLIC), max_seconds=2)
        deadline = time.monotonic() + 10
        while (response := await client.get(PUBLIC)).status_code == 403:
            assert time.monotonic() < deadline, "the block did not expire"
            await asyncio.sleep(0.2)
        assert response.status_code == 200
        # The count starts again from zero: one more failure does not block.
        assert (await client.post(REFRESH, json=FORGED_REFRESH)).status_code == 401
        assert (await client.get(PUBLIC)).status_code == 200


async def test_ipv6_clients_are_blocked_per_64_network(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(ip_autoblock_threshold=2)
    async with running(settings) as app:
        async with client_from(app, "2001:db8:7:7::1") as first:
            assert (await first.post(REFRESH, json=FORGED_REFRESH)).status_code == 401
        async with client_from(app, "2001:db8:7:7::2") as second:
            assert (await second.post(REFRESH, json=FORGED_REFRESH)).status_code == 401
        async with client_from(app, "2001:db8:7:7:ffff::9") as same_network:
            assert_blocked(await same_network.get(PUBLIC), max_seconds=900)
        async with client_from(app, "2001:db8:7:8::1") as other_network:
            assert (await other_network.get(PUBLIC)).status_code == 200


async def test_staff_can_inspect_and_lift_a_block(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(ip_autoblock_threshold=2)
    blocks = "/api/v1/admin/ip-blocks"
    async with running(settings) as app, client_from(app) as staff_client:
        staff = await signed_in_user(app, sessions, is_staff=True)
        user = await signed_in_user(app, sessions)
        async with client_from(app, "203.0.113.74") as offender:
            for _ in range(2):
                await offender.post(REFRESH, json=FORGED_REFRESH)
            assert_blocked(await offender.get(PUBLIC), max_seconds=900)

            assert (await staff_client.get(f"{blocks}/203.0.113.74")).status_code == 401
            assert (
                await staff_client.get(f"{blocks}/203.0.113.74", headers=user)
            ).status_code == 403
            assert (
                await staff_client.delete(f"{blocks}/203.0.113.74", headers=user)
            ).status_code == 403
            assert_blocked(await offender.get(PUBLIC), max_seconds=900)

            shown = await staff_client.get(f"{blocks}/203.0.113.74", headers=staff)
            assert shown.status_code == 200
            assert shown.json()["address"] == "203.0.113.74"
            assert shown.json()["reason"] == "auth_failure"
            assert 0 < shown.json()["expires_in"] <= 900

            lifted = await staff_client.delete(f"{blocks}/203.0.113.74", headers=staff)
            assert lifted.status_code == 204
            assert (await offender.get(PUBLIC)).status_code == 200
            # The offences were forgotten with the block.
            await offender.post(REFRESH, json=FORGED_REFRESH)
            assert (await offender.get(PUBLIC)).status_code == 200

        again = await staff_client.delete(f"{blocks}/203.0.113.74", headers=staff)
        assert again.status_code == 404
        assert (await staff_client.get(f"{blocks}/203.0.113.74", headers=staff)).status_code == 404
        bad = await staff_client.delete(f"{blocks}/not-an-address", headers=staff)
        assert bad.status_code == 422


def production(abuse_settings: Callable[..., Settings], **overrides: object) -> Settings:
    return abuse_settings(
        environment="production", email_transport="smtp", sms_transport="disabled", **overrides
    )


async def test_a_user_past_its_own_limit_does_not_get_its_shared_address_blocked(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    """Two companies and anonymous visitors behind one corporate address: one busy user
    going far past its own limit is refused alone, and nobody is blocked."""
    settings = production(abuse_settings, rate_limit_user="3/hour", ip_autoblock_threshold=3)
    office = "198.51.100.20"
    async with running(settings) as app, client_from(app, office) as client:
        busy_user = await signed_in_user(app, sessions)
        other_company_key = await api_key_headers(app, sessions)
        statuses = [
            (await client.get("/api/v1/me", headers=busy_user)).status_code for _ in range(12)
        ]
        assert statuses == [200] * 3 + [429] * 9

        products = await client.get("/api/v1/products", headers=other_company_key)
        assert products.status_code == 200, products.text
        assert (await client.get(PUBLIC)).status_code == 200
        # Still its own limit, not a block of the address.
        assert (await client.get("/api/v1/me", headers=busy_user)).status_code == 429


async def test_an_api_key_past_its_own_limit_does_not_get_its_shared_address_blocked(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = production(abuse_settings, rate_limit_api_key="2/hour", ip_autoblock_threshold=2)
    async with running(settings) as app, client_from(app, "198.51.100.21") as client:
        busy_key = await api_key_headers(app, sessions)
        user = await signed_in_user(app, sessions)
        statuses = [
            (await client.get("/api/v1/products", headers=busy_key)).status_code for _ in range(8)
        ]
        assert statuses == [200] * 2 + [429] * 6
        assert (await client.get("/api/v1/me", headers=user)).status_code == 200
        assert (await client.get(PUBLIC)).status_code == 200


async def test_going_past_the_address_limit_still_blocks_in_production(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = production(abuse_settings, rate_limit_anonymous="2/hour", ip_autoblock_threshold=3)
    async with running(settings) as app, client_from(app, "198.51.100.22") as client:
        statuses = [(await client.get(PUBLIC)).status_code for _ in range(6)]
        assert statuses == [200, 200, 429, 429, 429, 403]
