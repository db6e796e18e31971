"""Who may call what: every companies endpoint against every kind of caller.

Tenant routes: anonymous 401; a member of another company, a staff member who is not
a member and another company's API key 404 (ids cannot be probed); this company's API
keys 403 whatever their scopes (no scope administers a company); each role as the
permission table says. Every denied call leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import ROLES, Tenant, assert_problem, snapshot

ALL_ROLES = frozenset(ROLES)
MANAGERS = frozenset({"owner", "admin"})
CALLERS = (
    "anonymous",
    *ROLES,
    "outsider",
    "staff",
    "api_key",
    "api_key_read_only",
    "other_api_key",
)

VERIFICATION = {
    "legal_name": "Acme Industrial GmbH",
    "registration_number": "HRB 12345",
    "tax_id": "DE123456789",
    "address_line1": "Hafenstrasse 1",
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[Tenant], str]
    allowed: frozenset[str]
    success: int
    body: dict[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def _company(tenant: Tenant) -> str:
    return f"/api/v1/companies/{tenant.company_id}"


TENANT_ENDPOINTS = (
    Endpoint(
        "update company",
        "PATCH",
        _company,
        MANAGERS,
        200,
        {"description": "Now with bolts"},
    ),
    Endpoint("list addresses", "GET", lambda t: f"{_company(t)}/addresses", ALL_ROLES, 200),
    Endpoint(
        "add address",
        "POST",
        lambda t: f"{_company(t)}/addresses",
        MANAGERS,
        201,
        {
            "label": "Depot",
            "line1": "Main St 1",
            "city": "Lyon",
            "postal_code": "69001",
            "country": "FR",
        },
    ),
    Endpoint(
        "update address",
        "PATCH",
        lambda t: f"{_company(t)}/addresses/{t.address_id}",
        MANAGERS,
        200,
        {"label": "Renamed"},
    ),
    Endpoint(
        "delete address",
        "DELETE",
        lambda t: f"{_company(t)}/addresses/{t.address_id}",
        MANAGERS,
        204,
    ),
    Endpoint("list members", "GET", lambda t: f"{_company(t)}/members", ALL_ROLES, 200),
    Endpoint(
        "update member",
        "PATCH",
        lambda t: f"{_company(t)}/members/{t.extra_user_id}",
        MANAGERS,
        200,
        {"role": "sales"},
    ),
    Endpoint(
        "set monthly budget",
        "PATCH",
        lambda t: f"{_company(t)}/members/{t.user_ids['purchaser']}",
        MANAGERS,
        200,
        {"monthly_budget": "2500.00"},
    ),
    Endpoint(
        "remove member",
        "DELETE",
        lambda t: f"{_company(t)}/members/{t.extra_user_id}",
        MANAGERS,
        204,
    ),
    Endpoint(
        "invite",
        "POST",
        lambda t: f"{_company(t)}/invitations",
        MANAGERS,
        201,
        {"email": "new-person@example.com", "role": "viewer"},
    ),
    Endpoint("list invitations", "GET", lambda t: f"{_company(t)}/invitations", MANAGERS, 200),
    Endpoint(
        "revoke invitation",
        "DELETE",
        lambda t: f"{_company(t)}/invitations/{t.invitation_id}",
        MANAGERS,
        204,
    ),
    Endpoint(
        "submit verification",
        "POST",
        lambda t: f"{_company(t)}/verification",
        MANAGERS,
        200,
        VERIFICATION,
    ),
    Endpoint("read verification", "GET", lambda t: f"{_company(t)}/verification", ALL_ROLES, 200),
)


def tenant_expectation(endpoint: Endpoint, caller: str) -> int:
    if caller == "anonymous":
        return 401
    if caller in {"outsider", "staff", "other_api_key"}:
        return 404
    if caller in {"api_key", "api_key_read_only"}:
        return 403
    return endpoint.success if caller in endpoint.allowed else 403


async def call(
    client: httpx.AsyncClient, tenant: Tenant, endpoint: Endpoint, caller: str
) -> httpx.Response:
    return await client.request(
        endpoint.method,
        endpoint.path(tenant),
        json=endpoint.body,
        headers=tenant.headers[caller],
    )


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", TENANT_ENDPOINTS, ids=lambda endpoint: endpoint.name)
async def test_tenant_endpoint_authorisation(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    endpoint: Endpoint,
    caller: str,
) -> None:
    expected = tenant_expectation(endpoint, caller)
    before = await snapshot(db_session)
    response = await call(client, tenant, endpoint, caller)
    assert response.status_code == expected, response.text
    after = await snapshot(db_session)
    if expected >= 400:
        assert_problem(response, expected)
        assert after == before, "a denied call changed data"
    elif endpoint.writes:
        assert after != before


@dataclass(frozen=True)
class StaffEndpoint:
    name: str
    method: str
    path: Callable[[Tenant], str]
    body: dict[str, Any] | None = None


STAFF_ENDPOINTS = (
    StaffEndpoint("list companies", "GET", lambda t: "/api/v1/admin/companies"),
    StaffEndpoint(
        "decide verification",
        "POST",
        lambda t: f"/api/v1/admin/companies/{t.company_id}/verification",
        {"decision": "approve"},
    ),
    StaffEndpoint("grant staff", "POST", lambda t: f"/api/v1/admin/users/{t.extra_user_id}/staff"),
    StaffEndpoint(
        "revoke staff", "DELETE", lambda t: f"/api/v1/admin/users/{t.extra_user_id}/staff"
    ),
)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", STAFF_ENDPOINTS, ids=lambda endpoint: endpoint.name)
async def test_staff_endpoint_authorisation(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    endpoint: StaffEndpoint,
    caller: str,
) -> None:
    # Pending, so that a staff decision can succeed; the extra user is staff, so that
    # a revocation changes something.
    await db_session.execute(
        text("UPDATE companies SET verification_status = 'pending' WHERE id = :id"),
        {"id": tenant.company_id},
    )
    await db_session.execute(
        text("UPDATE users SET is_staff = (:grant) WHERE id = :id"),
        {"id": tenant.extra_user_id, "grant": endpoint.name != "grant staff"},
    )
    expected = 200 if caller == "staff" else 401 if caller == "anonymous" else 403
    before = await snapshot(db_session)
    response = await client.request(
        endpoint.method, endpoint.path(tenant), json=endpoint.body, headers=tenant.headers[caller]
    )
    assert response.status_code == expected, response.text
    after = await snapshot(db_session)
    if expected == 200:
        assert (after != before) == (endpoint.method != "GET")
    else:
        assert_problem(response, expected)
        assert after == before


@pytest.mark.parametrize("caller", CALLERS)
async def test_company_profile_visibility(
    client: httpx.AsyncClient, tenant: Tenant, caller: str
) -> None:
    response = await client.get(_company(tenant), headers=tenant.headers[caller])
    assert response.status_code == 200, response.text
    body = response.json()
    private = caller in ALL_ROLES or caller == "staff"
    assert ("tax_id" in body) is private
    assert ("legal_name" in body) is private
    assert body["name"] == "Acme Industrial"
    assert set(body) >= {
        "id",
        "name",
        "kind",
        "country",
        "verification_status",
        "description",
        "website",
        "created_at",
    }


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("anonymous", 401),
        ("api_key", 403),
        ("api_key_read_only", 403),
        ("viewer", 201),
        ("outsider", 201),
        ("staff", 201),
    ],
)
async def test_who_may_create_a_company(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    caller: str,
    expected: int,
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/companies",
        json={"name": "New Co", "kind": "buyer", "country": "NL"},
        headers=tenant.headers[caller],
    )
    assert response.status_code == expected, response.text
    if expected != 201:
        assert_problem(response, expected)
        assert await snapshot(db_session) == before


@pytest.mark.parametrize(("caller", "expected"), [("anonymous", 401), ("api_key", 403)])
async def test_accepting_an_invitation_needs_a_person(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    caller: str,
    expected: int,
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/invitations/accept",
        json={"token": "known-invitation-token-0123456789abcdef"},
        headers=tenant.headers[caller],
    )
    assert_problem(response, expected)
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/addresses/{other_address}", "PATCH", {"label": "Hijacked"}),
        ("/addresses/{other_address}", "DELETE", None),
        ("/invitations/{other_invitation}", "DELETE", None),
        ("/members/{other_owner}", "PATCH", {"role": "viewer"}),
        ("/members/{other_owner}", "DELETE", None),
    ],
)
async def test_another_tenants_objects_are_not_found_through_your_company(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    path: str,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    """Company A's owner names company B's objects under A's path: 404, B untouched."""
    resolved = path.format(
        other_address=tenant.other_address_id,
        other_invitation=tenant.other_invitation_id,
        other_owner=tenant.other_owner_id,
    )
    before = await snapshot(db_session)
    response = await client.request(
        method, f"{_company(tenant)}{resolved}", json=body, headers=tenant.headers["owner"]
    )
    assert_problem(response, 404)
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("caller", ["outsider", "other_api_key"])
@pytest.mark.parametrize("suffix", ["/addresses", "/members", "/invitations", "/verification"])
async def test_another_company_cannot_learn_whether_a_company_exists(
    client: httpx.AsyncClient, tenant: Tenant, caller: str, suffix: str
) -> None:
    """A private route of an existing company and of a made-up id answer alike."""
    real = await client.get(f"{_company(tenant)}{suffix}", headers=tenant.headers[caller])
    made_up = await client.get(
        f"/api/v1/companies/00000000-0000-4000-8000-000000000000{suffix}",
        headers=tenant.headers[caller],
    )
    assert_problem(real, 404)
    assert_problem(made_up, 404)
    assert real.json()["detail"] == made_up.json()["detail"]
