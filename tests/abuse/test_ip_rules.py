"""Staff-managed allow and deny rules, enforced on every request."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from marketplace.abuse.models import IpRule
from marketplace.abuse.service import RuleSet, _Rule, record_offence
from marketplace.settings import Settings
from tests.abuse.conftest import (
    Sessions,
    api_key_headers,
    client_from,
    running,
    signed_in_user,
)
from tests.factories import platform_of

PUBLIC = "/api/openapi.json"
RULES = "/api/v1/admin/ip-rules"


async def rule_count(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(IpRule)) or 0)


async def add_rule(
    client: httpx.AsyncClient, staff: dict[str, str], cidr: str, action: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        RULES, json={"cidr": cidr, "action": action, **extra}, headers=staff
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_denied(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:marketplace:problem:ip-denied"
    assert body["detail"] == "Requests from your address are not allowed."


async def test_deny_rules_apply_at_once_and_stop_applying_when_deleted(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with running(abuse_settings()) as app, client_from(app) as staff_client:
        staff = await signed_in_user(app, sessions, is_staff=True)
        async with client_from(app, "198.51.100.9") as visitor:
            # Warm the cache with the rules as they are (none).
            assert (await visitor.get(PUBLIC)).status_code == 200

            rule = await add_rule(staff_client, staff, "198.51.100.0/24", "deny", note="scraper")
            assert rule["cidr"] == "198.51.100.0/24"
            assert rule["action"] == "deny"
            assert rule["note"] == "scraper"
            assert rule["expires_at"] is None
            assert_denied(await visitor.get(PUBLIC))
            assert_denied(await visitor.post("/api/v1/auth/otp/request", json={}))
            # Health checks are never refused.
            assert (await visitor.get("/health/live")).status_code == 200

            deleted = await staff_client.delete(f"{RULES}/{rule['id']}", headers=staff)
            assert deleted.status_code == 204
            assert (await visitor.get(PUBLIC)).status_code == 200
        assert await rule_count(sessions) == 0


async def test_a_change_on_one_instance_applies_at_once_on_another(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings()
    async with running(settings) as first, running(settings) as second:
        staff = await signed_in_user(first, sessions, is_staff=True)
        async with client_from(first) as admin, client_from(second, "198.51.100.10") as visitor:
            assert (await visitor.get(PUBLIC)).status_code == 200  # rules cached on `second`
            rule = await add_rule(admin, staff, "198.51.100.10", "deny")
            assert rule["cidr"] == "198.51.100.10/32"
            assert_denied(await visitor.get(PUBLIC))
            await admin.delete(f"{RULES}/{rule['id']}", headers=staff)
            assert (await visitor.get(PUBLIC)).status_code == 200


async def test_allow_rules_exempt_from_deny_rules_blocks_and_the_address_limit(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_anonymous="2/hour", ip_autoblock_threshold=1)
    async with running(settings) as app, client_from(app) as admin:
        staff = await signed_in_user(app, sessions, is_staff=True)
        await add_rule(admin, staff, "203.0.113.0/24", "deny")
        await add_rule(admin, staff, "203.0.113.7", "allow", note="office")
        platform = platform_of(app)
        await record_offence(platform, "203.0.113.7", "auth_failure")  # blocked but allowed
        async with client_from(app, "203.0.113.7") as office:
            for _ in range(5):
                response = await office.get(PUBLIC)
                assert response.status_code == 200
                assert "ratelimit-limit" not in response.headers
        async with client_from(app, "203.0.113.8") as neighbour:
            assert_denied(await neighbour.get(PUBLIC))
        # Without the allow rule the block and the deny rule apply again.
        rules = (await admin.get(RULES, headers=staff)).json()["items"]
        allow = next(rule for rule in rules if rule["action"] == "allow")
        await admin.delete(f"{RULES}/{allow['id']}", headers=staff)
        async with client_from(app, "203.0.113.7") as office:
            assert_denied(await office.get(PUBLIC))


async def test_expired_rules_do_not_apply(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with sessions() as session:
        session.add(
            IpRule(
                cidr="198.51.100.0/24",
                action="deny",
                expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
        session.add(
            IpRule(
                cidr="198.51.100.128/25",
                action="deny",
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
        await session.commit()
    async with running(abuse_settings()) as app:
        async with client_from(app, "198.51.100.1") as expired:
            assert (await expired.get(PUBLIC)).status_code == 200
        async with client_from(app, "198.51.100.200") as current:
            assert_denied(await current.get(PUBLIC))


def test_a_cached_rule_stops_applying_when_it_expires() -> None:
    address = ipaddress.ip_address("198.51.100.1")
    rules = RuleSet(
        [
            _Rule(ipaddress.ip_network("198.51.100.0/24"), allow=False, expires_at=1000.0),
            _Rule(ipaddress.ip_network("2001:db8::/32"), allow=False, expires_at=None),
        ]
    )
    assert rules.action_for(address, now=999.0) == "deny"
    assert rules.action_for(address, now=1000.0) is None
    assert rules.action_for(ipaddress.ip_address("2001:db8::1"), now=5000.0) == "deny"
    assert rules.action_for(ipaddress.ip_address("192.0.2.1"), now=0.0) is None


async def test_rules_are_listed_newest_first_page_by_page(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with running(abuse_settings()) as app, client_from(app) as admin:
        staff = await signed_in_user(app, sessions, is_staff=True)
        expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        created = [
            await add_rule(admin, staff, "192.0.2.0/24", "deny", note="first"),
            await add_rule(admin, staff, "2001:DB8:0::/48", "deny", expires_at=expires),
            await add_rule(admin, staff, "233.252.0.1", "allow", note="monitoring"),
        ]
        first = (await admin.get(RULES, params={"limit": 2}, headers=staff)).json()
        second = (
            await admin.get(
                RULES, params={"limit": 2, "cursor": first["next_cursor"]}, headers=staff
            )
        ).json()
    assert [rule["id"] for rule in first["items"] + second["items"]] == [
        rule["id"] for rule in reversed(created)
    ]
    assert second["next_cursor"] is None
    ipv6 = created[1]
    assert ipv6["cidr"] == "2001:db8::/48"
    assert datetime.fromisoformat(ipv6["expires_at"]) == datetime.fromisoformat(expires)
    assert set(ipv6) == {
        "id",
        "cidr",
        "action",
        "note",
        "created_by_user_id",
        "created_at",
        "expires_at",
    }
    assert ipv6["created_by_user_id"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"cidr": "not-an-address", "action": "deny"},
        {"cidr": "10.0.0.1/24", "action": "deny"},  # host bits set
        {"cidr": "10.0.0.0/33", "action": "deny"},
        {"cidr": "", "action": "deny"},
        {"cidr": "10.0.0.0/8", "action": "block"},
        {"cidr": "10.0.0.0/8"},
        {"cidr": "10.0.0.0/8", "action": "deny", "expires_at": "2020-01-01T00:00:00Z"},
        {"cidr": "10.0.0.0/8", "action": "deny", "expires_at": "2999-01-01T00:00:00"},
        {"cidr": "10.0.0.0/8", "action": "deny", "note": "bell\x07"},
        {"cidr": "10.0.0.0/8", "action": "deny", "note": "x" * 301},
        {"cidr": "10.0.0.0/8", "action": "deny", "owner": "me"},
    ],
)
async def test_invalid_rules_are_refused_and_nothing_is_written(
    abuse_settings: Callable[..., Settings], sessions: Sessions, body: dict[str, Any]
) -> None:
    async with running(abuse_settings()) as app, client_from(app) as admin:
        staff = await signed_in_user(app, sessions, is_staff=True)
        response = await admin.post(RULES, json=body, headers=staff)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:marketplace:problem:validation-failed"
    assert await rule_count(sessions) == 0


async def test_host_bits_error_suggests_the_network(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with running(abuse_settings()) as app, client_from(app) as admin:
        staff = await signed_in_user(app, sessions, is_staff=True)
        response = await admin.post(
            RULES, json={"cidr": "10.0.0.1/24", "action": "deny"}, headers=staff
        )
    assert response.json()["errors"][0]["loc"] == ["body", "cidr"]
    assert "10.0.0.0/24" in response.json()["errors"][0]["msg"]


async def test_staff_cannot_deny_their_own_address(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with running(abuse_settings()) as app, client_from(app, "192.0.2.10") as admin:
        staff = await signed_in_user(app, sessions, is_staff=True)
        refused = await admin.post(
            RULES, json={"cidr": "192.0.2.0/24", "action": "deny"}, headers=staff
        )
        assert refused.status_code == 409
        assert refused.json()["type"] == "urn:marketplace:problem:ip-rule-locks-you-out"
        assert "192.0.2.10" in refused.json()["detail"]
        assert await rule_count(sessions) == 0

        # With their address allowed first, the wider deny rule is fine...
        allow = await add_rule(admin, staff, "192.0.2.10", "allow")
        await add_rule(admin, staff, "192.0.2.0/24", "deny")
        assert (await admin.get(RULES, headers=staff)).status_code == 200
        # ...but removing the allow rule would now lock them out.
        removal = await admin.delete(f"{RULES}/{allow['id']}", headers=staff)
        assert removal.status_code == 409
        assert await rule_count(sessions) == 2


async def test_admin_endpoints_are_for_staff_only(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    body = {"cidr": "198.51.100.0/24", "action": "deny"}
    async with running(abuse_settings()) as app, client_from(app) as client:
        staff = await signed_in_user(app, sessions, is_staff=True)
        user = await signed_in_user(app, sessions)
        api_key = await api_key_headers(app, sessions)
        existing = await add_rule(client, staff, "192.0.2.0/24", "deny")
        one = f"{RULES}/{existing['id']}"

        expected = {
            "anonymous": ({}, 401, "invalid-credentials"),
            "user": (user, 403, "staff-only"),
            "api key": (api_key, 403, "api-key-not-allowed"),
        }
        for who, (headers, status, problem) in expected.items():
            for response in (
                await client.get(RULES, headers=headers),
                await client.post(RULES, json=body, headers=headers),
                await client.delete(one, headers=headers),
            ):
                assert response.status_code == status, (who, response.request.method)
                assert response.json()["type"].endswith(problem), who
        # Nothing was written or removed by the refused calls.
        assert await rule_count(sessions) == 1

        listed = await client.get(RULES, headers=staff)
        assert listed.status_code == 200
        assert [rule["id"] for rule in listed.json()["items"]] == [existing["id"]]
        assert (await client.delete(one, headers=staff)).status_code == 204
        missing = await client.delete(f"{RULES}/{uuid.uuid4()}", headers=staff)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "The IP rule does not exist."
        assert await rule_count(sessions) == 0
