"""SSRF protection: URLs that would reach the platform's own network are refused at
registration (and at delivery time: see test_delivery). No DNS is mocked: names are
real (`localhost`), addresses are literals in their many spellings."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.models import Company
from marketplace.webhooks import ssrf
from marketplace.webhooks.models import WebhookEndpoint
from tests.conftest import make_settings, production_settings
from tests.factories import add_member, bearer_headers, make_company, make_user

REFUSED_AT_REGISTRATION = [
    "http://127.0.0.1/",
    "https://127.0.0.1/",
    "https://127.0.0.1:8443/hooks",
    "http://10.0.0.1/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://192.0.2.10/",
    "http://[::1]/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fd00:ec2::254]/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://localhost/",
    "https://localhost/",
    "https://LOCALHOST:8443/",
    "https://localhost./",
    "http://2130706433/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0x7f.0.0.1/",
    "https://127.1/",
    "https://0177.0.0.1/",
    "https://017700000001/",
    "https://10.1/",
    "https://user:password@93.184.215.14/",
    "https://user@93.184.215.14/",
    "https://93.184.215.14:22/",
    "https://93.184.215.14:25/",
    "https://93.184.215.14:0/",
    "http://93.184.215.14/",  # plain http outside development
    "ftp://93.184.215.14/",
    "file:///etc/passwd",
    "gopher://93.184.215.14/",
    "javascript:alert(1)",
    "https:///no-host",
    "//93.184.215.14/",
    "no-such-host.invalid",
    "https://[not-an-ip]/",
]


@pytest.fixture
async def acme(db_session: AsyncSession) -> Company:
    return await make_company(db_session, name="Acme SSRF")


@pytest.fixture
async def owner(app: FastAPI, db_session: AsyncSession, acme: Company) -> dict[str, str]:
    user = await make_user(db_session)
    await add_member(db_session, acme, user, "owner")
    return await bearer_headers(app, db_session, user)


async def endpoints(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0)


async def test_registration_refuses_urls_into_the_platforms_network(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    # One application for all of them: each URL is one request.
    for url in REFUSED_AT_REGISTRATION:
        response = await client.post(
            f"/api/v1/companies/{acme.id}/webhooks",
            json={"url": url, "event_types": ["*"]},
            headers=owner,
        )
        assert response.status_code == 422, (url, response.text)
        body = response.json()
        assert body["type"] == "urn:marketplace:problem:webhook-url-refused", url
        assert body["errors"][0]["loc"] == ["body", "url"], url
        # Internal addresses are never echoed back.
        assert "127.0.0.1" not in body["errors"][0]["msg"], url
    assert await endpoints(db_session) == 0


async def test_changing_the_url_to_an_internal_one_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, acme: Company, owner: dict[str, str]
) -> None:
    created = await client.post(
        f"/api/v1/companies/{acme.id}/webhooks",
        json={"url": "https://93.184.215.14/hooks", "event_types": ["*"]},
        headers=owner,
    )
    assert created.status_code == 201
    for url in ("http://127.0.0.1/", "https://10.0.0.1/", "https://[::1]/", "https://localhost/"):
        changed = await client.patch(
            f"/api/v1/companies/{acme.id}/webhooks/{created.json()['id']}",
            json={"url": url},
            headers=owner,
        )
        assert changed.status_code == 422, url
    stored = await db_session.scalar(select(WebhookEndpoint.url))
    assert stored == "https://93.184.215.14/hooks"


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hooks",
        "https://93.184.215.14:8443/hooks?token=abc",
        "https://93.184.215.14:443/",
        "https://[2606:4700:4700::1111]/hooks",
        "https://[64:ff9b::5db8:d70e]/",  # NAT64 of a public address
    ],
)
def test_public_addresses_pass(url: str) -> None:
    settings = make_settings()
    parsed = ssrf.parse_webhook_url(url, settings)
    assert ssrf.is_public_address(ipaddress.ip_address(parsed.host))


async def test_names_are_resolved_and_every_answer_checked() -> None:
    settings = make_settings()
    with pytest.raises(ssrf.UrlRefused) as refused:
        await ssrf.check_webhook_url("https://localhost:8443/", settings)
    assert refused.value.reason == ssrf.NOT_PUBLIC
    assert "127.0.0.1" in refused.value.detail  # for the server log, not the client


@pytest.mark.parametrize(
    ("environment", "hosts", "url", "allowed"),
    [
        ("test", ["127.0.0.1"], "http://127.0.0.1:8080/hooks", True),
        ("test", ["localhost"], "http://localhost:8080/hooks", True),
        ("test", ["localhost"], "http://127.0.0.1:8080/hooks", False),
        ("test", [], "http://127.0.0.1:8080/hooks", False),
        ("development", ["127.0.0.1"], "http://127.0.0.1:8080/hooks", True),
        ("development", [], "http://127.0.0.1:8080/hooks", False),
        ("development", [], "http://93.184.215.14/hooks", True),  # http in development
        ("test", [], "http://93.184.215.14/hooks", False),
    ],
)
async def test_the_allow_list_is_for_development_and_test(
    environment: str, hosts: list[str], url: str, allowed: bool
) -> None:
    settings = make_settings(environment=environment, webhook_allowed_hosts=hosts)
    if allowed:
        checked = await ssrf.check_webhook_url(url, settings)
        assert checked.address.is_loopback or checked.address.is_global
    else:
        with pytest.raises(ssrf.UrlRefused):
            await ssrf.check_webhook_url(url, settings)


def test_the_allow_list_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_HOSTS"):
        make_settings(environment="production", webhook_allowed_hosts=["127.0.0.1"])


def test_the_allow_list_is_ignored_in_production_even_if_set_later() -> None:
    settings = production_settings()
    settings.webhook_allowed_hosts = ["127.0.0.1"]  # assignment skips validation
    assert ssrf.allow_list(settings) == frozenset()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://2130706433/", ssrf.UNUSUAL_NOTATION),
        ("https://0x7f000001/", ssrf.UNUSUAL_NOTATION),
        ("https://127.1/", ssrf.UNUSUAL_NOTATION),
        ("https://a:b@93.184.215.14/", ssrf.NO_CREDENTIALS),
        ("https://93.184.215.14:22/", ssrf.BAD_PORT),
        ("http://93.184.215.14/", ssrf.MUST_BE_HTTPS),
        ("ftp://93.184.215.14/", ssrf.MUST_BE_HTTPS),
        ("https:///", ssrf.NO_HOST),
    ],
)
def test_each_rule_names_its_reason(url: str, reason: str) -> None:
    with pytest.raises(ssrf.UrlRefused) as refused:
        ssrf.parse_webhook_url(url, make_settings())
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "198.18.0.1",
        "::1",
        "::",
        "fd00:ec2::254",
        "fe80::1",
        "ff0e::1",
        "::ffff:192.168.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        "2001:db8::1",
        "2001::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not ssrf.is_public_address(ipaddress.ip_address(address))
