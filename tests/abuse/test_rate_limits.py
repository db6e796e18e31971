"""Rate limits per address, per user and per API key, shared through Redis."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.abuse.models import IpRule
from marketplace.settings import Settings
from tests.abuse.conftest import (
    Sessions,
    api_key_headers,
    assert_limit_headers,
    client_from,
    running,
    signed_in_user,
)

PUBLIC = "/api/openapi.json"  # any anonymous 200 will do


def assert_rate_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:marketplace:problem:rate-limited"
    assert body["status"] == 429
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= 3600
    assert f" {retry_after} " in body["detail"]
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-reset"] == str(retry_after)


async def test_address_limit_trips_at_exactly_the_configured_count(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with (
        running(abuse_settings(rate_limit_anonymous="3/hour")) as app,
        client_from(app) as client,
    ):
        for remaining in (2, 1, 0):
            response = await client.get(PUBLIC)
            assert response.status_code == 200
            assert_limit_headers(response, limit=3, remaining=remaining)
        refused = await client.get(PUBLIC, headers={"Accept-Language": "de"})
        assert_rate_limited(refused, limit=3)
        assert refused.json()["title"] == "Zu viele Anfragen"
        assert "x-request-id" in refused.headers
        assert refused.headers["x-content-type-options"] == "nosniff"

        async with client_from(app, "203.0.113.50") as elsewhere:
            other = await elsewhere.get(PUBLIC)
        assert other.status_code == 200
        assert_limit_headers(other, limit=3, remaining=2)


async def test_health_and_metrics_are_never_limited(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with (
        running(abuse_settings(rate_limit_anonymous="1/hour")) as app,
        client_from(app) as client,
    ):
        for path in ("/health/live", "/health", "/health/ready", "/metrics") * 2:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "ratelimit-limit" not in response.headers
        assert (await client.get(PUBLIC)).status_code == 200
        assert (await client.get(PUBLIC)).status_code == 429


async def test_the_limit_is_shared_by_instances_using_the_same_redis(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_anonymous="4/hour")
    async with (
        running(settings) as first,
        running(settings) as second,
        client_from(first) as to_first,
        client_from(second) as to_second,
    ):
        responses = [
            await to_first.get(PUBLIC),
            await to_second.get(PUBLIC),
            await to_first.get(PUBLIC),
            await to_second.get(PUBLIC),
            await to_first.get(PUBLIC),
            await to_second.get(PUBLIC),
        ]
    assert [response.status_code for response in responses] == [200, 200, 200, 200, 429, 429]
    assert [response.headers["ratelimit-remaining"] for response in responses] == [
        "3",
        "2",
        "1",
        "0",
        "0",
        "0",
    ]


async def test_without_redis_the_limit_is_counted_in_process(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with (
        running(abuse_settings(redis_url=None, rate_limit_anonymous="2/hour")) as app,
        client_from(app) as client,
    ):
        statuses = [(await client.get(PUBLIC)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_users_and_api_keys_have_their_own_limits_apart_from_the_address(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(
        rate_limit_anonymous="1/hour", rate_limit_user="3/hour", rate_limit_api_key="2/hour"
    )
    async with running(settings) as app, client_from(app) as client:
        user = await signed_in_user(app, sessions)
        other_user = await signed_in_user(app, sessions)
        api_key = await api_key_headers(app, sessions)

        # The address's own budget is spent by anonymous requests...
        assert (await client.get(PUBLIC)).status_code == 200
        assert (await client.get(PUBLIC)).status_code == 429

        # ...while each user, from the same address, is counted on their own.
        for remaining in (2, 1, 0):
            response = await client.get("/api/v1/me", headers=user)
            assert response.status_code == 200
            assert_limit_headers(response, limit=3, remaining=remaining)
        assert_rate_limited(await client.get("/api/v1/me", headers=user), limit=3)

        response = await client.get("/api/v1/me", headers=other_user)
        assert response.status_code == 200
        assert_limit_headers(response, limit=3, remaining=2)

        # An API key has its own budget too (this route is for people: 403, still counted).
        for remaining in (1, 0):
            response = await client.get("/api/v1/me", headers=api_key)
            assert response.status_code == 403
            assert response.json()["type"] == "urn:marketplace:problem:api-key-not-allowed"
            assert_limit_headers(response, limit=2, remaining=remaining)
        assert_rate_limited(await client.get("/api/v1/me", headers=api_key), limit=2)

        # And none of this touched the anonymous count of another address.
        async with client_from(app, "203.0.113.51") as elsewhere:
            assert (await elsewhere.get(PUBLIC)).status_code == 200


async def test_made_up_credentials_are_counted_against_the_address(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with (
        running(abuse_settings(rate_limit_anonymous="3/hour")) as app,
        client_from(app) as client,
    ):
        bad_token = await client.get("/api/v1/me", headers={"Authorization": "Bearer forged"})
        assert bad_token.status_code == 401
        assert_limit_headers(bad_token, limit=3, remaining=2)
        bad_key = await client.get("/api/v1/me", headers={"X-API-Key": "mpk_forged_key"})
        assert bad_key.status_code == 401
        assert_limit_headers(bad_key, limit=3, remaining=1)
        # An empty credential header resolves to nobody; it is an anonymous request.
        empty_key = await client.get("/api/v1/me", headers={"X-API-Key": ""})
        assert empty_key.status_code == 401
        assert_limit_headers(empty_key, limit=3, remaining=0)
        refused = await client.get("/api/v1/me", headers={"Authorization": "Bearer forged-2"})
        assert_rate_limited(refused, limit=3)


async def test_when_redis_is_down_limits_fail_open_and_deny_rules_still_apply(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(
        redis_url="redis://127.0.0.1:1/0", rate_limit_anonymous="1/hour", rate_limit_user="1/hour"
    )
    async with sessions() as session:
        await _deny(session, "198.51.100.0/24")
    async with running(settings) as app, client_from(app) as client:
        user = await signed_in_user(app, sessions)
        for _ in range(3):
            anonymous = await client.get(PUBLIC)
            assert anonymous.status_code == 200
            assert "ratelimit-limit" not in anonymous.headers
            signed_in = await client.get("/api/v1/me", headers=user)
            assert signed_in.status_code == 200
            assert "ratelimit-limit" not in signed_in.headers
        async with client_from(app, "198.51.100.20") as denied:
            response = await denied.get(PUBLIC)
        assert response.status_code == 403
        assert response.json()["type"] == "urn:marketplace:problem:ip-denied"


async def _deny(session: AsyncSession, cidr: str) -> None:
    session.add(IpRule(cidr=cidr, action="deny", note="test"))
    await session.commit()


async def test_browsers_can_read_a_429_from_another_origin(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(
        rate_limit_anonymous="1/hour", trusted_origins=["https://buyer.example"]
    )
    origin = {"Origin": "https://buyer.example"}
    async with running(settings) as app, client_from(app) as client:
        await client.get(PUBLIC, headers=origin)
        refused = await client.get(PUBLIC, headers=origin)
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == "https://buyer.example"
    exposed = refused.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed
    assert "ratelimit-reset" in exposed
