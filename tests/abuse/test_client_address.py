"""The client's address: X-Forwarded-For only from trusted proxies, one spelling."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.abuse.models import IpRule
from marketplace.core.client_ip import limit_key, parse_networks, resolve_client_ip
from marketplace.settings import Settings
from tests.abuse.conftest import Sessions, client_from, running

PUBLIC = "/api/openapi.json"
PROXIES = parse_networks(["10.0.0.0/30", "2001:db8:ffff::1"])


def scope_from(peer: str, *forwarded: str) -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 1234),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No proxy in front: the peer, whatever the header claims.
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        # A trusted proxy: the rightmost address it did not add itself.
        ("10.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["192.0.2.66, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.1", ["192.0.2.66, 203.0.113.9, 10.0.0.2"], "203.0.113.9"),
        ("10.0.0.1", ["192.0.2.66", "203.0.113.9"], "203.0.113.9"),  # repeated header
        # Only proxies in the chain: the leftmost is the client as far as we know.
        ("10.0.0.1", ["10.0.0.2, 10.0.0.3"], "10.0.0.2"),
        # A trusted proxy with no or a broken header: trust only what was seen.
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.9, not-an-address"], "10.0.0.1"),
        # Normalised spelling.
        ("::ffff:198.51.100.7", [], "198.51.100.7"),
        ("2001:DB8:0:0::1", [], "2001:db8::1"),
        ("2001:db8:ffff::1", ["2001:db8:1:2::abcd"], "2001:db8:1:2::abcd"),
    ],
)
def test_client_address_resolution(peer: str, forwarded: list[str], expected: str) -> None:
    assert resolve_client_ip(scope_from(peer, *forwarded), PROXIES) == expected


def test_ipv6_addresses_are_limited_per_64_network() -> None:
    assert limit_key("2001:db8:1:2::abcd") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert limit_key("203.0.113.9") == "203.0.113.9"
    assert limit_key("::ffff:203.0.113.9") == "203.0.113.9"


async def test_forwarded_address_is_ignored_from_an_untrusted_peer(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_anonymous="2/hour", trusted_proxies=["10.0.0.1"])
    async with running(settings) as app, client_from(app, "198.51.100.7") as client:
        statuses = [
            (await client.get(PUBLIC, headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(1, 4)
        ]
    # Claiming a new address on every request does not buy a new budget.
    assert statuses == [200, 200, 429]


async def test_forwarded_address_is_honoured_from_a_trusted_proxy(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    settings = abuse_settings(rate_limit_anonymous="2/hour", trusted_proxies=["10.0.0.1"])
    async with running(settings) as app, client_from(app, "10.0.0.1") as proxy:
        first_client = {"X-Forwarded-For": "203.0.113.1"}
        statuses = [(await proxy.get(PUBLIC, headers=first_client)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        # Another client behind the same proxy has its own budget.
        other = await proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.2"})
        assert other.status_code == 200


async def test_rules_see_the_forwarded_address_only_through_a_trusted_proxy(
    abuse_settings: Callable[..., Settings], sessions: Sessions
) -> None:
    async with sessions() as session:
        await _rule(session, "203.0.113.0/24", "deny")
        await _rule(session, "198.51.100.0/24", "deny")
        await _rule(session, "192.0.2.0/24", "allow")
    settings = abuse_settings(trusted_proxies=["10.0.0.1"])
    async with running(settings) as app:
        async with client_from(app, "10.0.0.1") as proxy:
            denied = await proxy.get(PUBLIC, headers={"X-Forwarded-For": "203.0.113.9"})
            passed = await proxy.get(PUBLIC, headers={"X-Forwarded-For": "233.252.0.1"})
        async with client_from(app, "198.51.100.7") as untrusted:
            spoofed = await untrusted.get(PUBLIC, headers={"X-Forwarded-For": "192.0.2.1"})
    assert denied.status_code == 403
    assert passed.status_code == 200
    # Claiming an allowed address from an untrusted peer exempts nothing.
    assert spoofed.status_code == 403
    assert spoofed.json()["type"] == "urn:marketplace:problem:ip-denied"


async def test_access_log_records_the_resolved_address(
    abuse_settings: Callable[..., Settings],
    sessions: Sessions,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = abuse_settings(trusted_proxies=["10.0.0.1"], log_format="json", log_level="INFO")
    async with running(settings) as app, client_from(app, "10.0.0.1") as proxy:
        capsys.readouterr()
        await proxy.get("/health/live", headers={"X-Forwarded-For": "203.0.113.77"})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) == 1
    assert access[0]["client"] == "203.0.113.77"


async def _rule(session: AsyncSession, cidr: str, action: str) -> None:
    session.add(IpRule(cidr=cidr, action=action, note="test"))
    await session.commit()
