"""Every change to company data, addresses, members, invitations, verification and staff
access is an event in the outbox, written in the same transaction, naming who acted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import Tenant, events_of, last_event
from tests.companies.test_authorisation import VERIFICATION


@dataclass(frozen=True)
class Change:
    name: str
    caller: str
    method: str
    path: Callable[[Tenant], str]
    body: dict[str, Any] | None
    event: str
    payload: Callable[[Tenant], dict[str, Any]]


def _company(tenant: Tenant) -> str:
    return f"/api/v1/companies/{tenant.company_id}"


CHANGES = (
    Change(
        "profile",
        "admin",
        "PATCH",
        _company,
        {"name": "Acme Two", "description": "Acme Two"},
        "company.updated",
        lambda t: {"fields": ["description", "name"]},
    ),
    Change(
        "add address",
        "owner",
        "POST",
        lambda t: f"{_company(t)}/addresses",
        {"label": "L", "line1": "1", "city": "C", "postal_code": "1", "country": "DE"},
        "company.address_added",
        lambda t: {},
    ),
    Change(
        "change address",
        "owner",
        "PATCH",
        lambda t: f"{_company(t)}/addresses/{t.address_id}",
        {"label": "New label"},
        "company.address_updated",
        lambda t: {"address_id": str(t.address_id), "fields": ["label"]},
    ),
    Change(
        "delete address",
        "owner",
        "DELETE",
        lambda t: f"{_company(t)}/addresses/{t.address_id}",
        None,
        "company.address_deleted",
        lambda t: {"address_id": str(t.address_id)},
    ),
    Change(
        "change member",
        "owner",
        "PATCH",
        lambda t: f"{_company(t)}/members/{t.extra_user_id}",
        {"role": "purchaser", "spending_limit": "75"},
        "member.updated",
        lambda t: {
            "user_id": str(t.extra_user_id),
            "role": "purchaser",
            "previous_role": "viewer",
            "spending_limit": "75.00",
        },
    ),
    Change(
        "remove member",
        "admin",
        "DELETE",
        lambda t: f"{_company(t)}/members/{t.extra_user_id}",
        None,
        "member.removed",
        lambda t: {"user_id": str(t.extra_user_id), "role": "viewer", "left": False},
    ),
    Change(
        "leave",
        "sales",
        "DELETE",
        lambda t: f"{_company(t)}/members/{t.user_ids['sales']}",
        None,
        "member.removed",
        lambda t: {"user_id": str(t.user_ids["sales"]), "role": "sales", "left": True},
    ),
    Change(
        "invite",
        "owner",
        "POST",
        lambda t: f"{_company(t)}/invitations",
        {"email": "e@example.com", "role": "sales"},
        "invitation.created",
        lambda t: {"destination": "e@example.com", "channel": "email", "role": "sales"},
    ),
    Change(
        "revoke invitation",
        "owner",
        "DELETE",
        lambda t: f"{_company(t)}/invitations/{t.invitation_id}",
        None,
        "invitation.revoked",
        lambda t: {"invitation_id": str(t.invitation_id), "destination": "invited@example.com"},
    ),
    Change(
        "submit verification",
        "owner",
        "POST",
        lambda t: f"{_company(t)}/verification",
        VERIFICATION,
        "company.verification_submitted",
        lambda t: {"from_status": "unverified", "to_status": "pending", "reason": None},
    ),
)


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.name)
async def test_each_change_is_one_event_for_the_company(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, change: Change
) -> None:
    mark = await last_event(db_session)
    response = await client.request(
        change.method, change.path(tenant), json=change.body, headers=tenant.headers[change.caller]
    )
    assert response.status_code < 300, response.text
    [event] = await events_of(db_session, after=mark)
    assert event["type"] == change.event
    assert event["company_ids"] == [tenant.company_id]
    assert event["actor_user_id"] == tenant.user_ids[change.caller]
    assert event["actor_api_key_id"] is None
    assert event["payload"]["company_id"] == str(tenant.company_id)
    assert event["payload"] | change.payload(tenant) == event["payload"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (_company, {"name": "Acme Industrial"}),
        (lambda t: f"{_company(t)}/members/{t.user_ids['purchaser']}", {"role": "purchaser"}),
        (lambda t: f"{_company(t)}/members/{t.extra_user_id}", {}),
    ],
)
async def test_a_change_that_changes_nothing_is_no_event(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    path: Callable[[Tenant], str],
    body: dict[str, Any],
) -> None:
    mark = await last_event(db_session)
    response = await client.patch(path(tenant), json=body, headers=tenant.headers["owner"])
    assert response.status_code == 200, response.text
    assert await events_of(db_session, after=mark) == []


async def test_registration_verification_and_reset_are_recorded(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await last_event(db_session)
    created = await client.post(
        "/api/v1/companies",
        json={"name": "Fresh", "kind": "buyer", "country": "FR"},
        headers=tenant.headers["viewer"],
    )
    company_id = uuid.UUID(created.json()["id"])
    [registered] = await events_of(db_session, company_id, after=mark)
    assert registered["type"] == "company.created"
    assert registered["payload"]["owner_user_id"] == str(tenant.user_ids["viewer"])

    await db_session.execute(
        text("UPDATE companies SET verification_status = 'pending' WHERE id = :id"),
        {"id": tenant.company_id},
    )
    approved = await client.post(
        f"/api/v1/admin/companies/{tenant.company_id}/verification",
        json={"decision": "approve"},
        headers=tenant.headers["staff"],
    )
    assert approved.status_code == 200
    reset = await client.patch(
        _company(tenant), json={"tax_id": "DE000"}, headers=tenant.headers["owner"]
    )
    assert reset.status_code == 200
    recorded = [
        (event["type"], event["actor_user_id"], event["actor_is_staff"])
        for event in await events_of(db_session, tenant.company_id, after=mark)
    ]
    assert recorded == [
        ("company.verified", tenant.staff_id, True),
        ("company.updated", tenant.user_ids["owner"], False),
        ("company.verification_reset", tenant.user_ids["owner"], False),
    ]


async def test_staff_changes_are_staff_only_events(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    mark = await last_event(db_session)
    url = f"/api/v1/admin/users/{tenant.extra_user_id}/staff"
    assert (await client.post(url, headers=tenant.headers["staff"])).status_code == 200
    assert (await client.post(url, headers=tenant.headers["staff"])).status_code == 200
    assert (await client.delete(url, headers=tenant.headers["staff"])).status_code == 200
    recorded = [
        (event["type"], event["payload"]["user_id"], event["company_ids"], event["actor_user_id"])
        for event in await events_of(db_session, after=mark)
    ]
    # Granting twice changes nothing the second time, and records nothing.
    assert recorded == [
        ("staff.granted", str(tenant.extra_user_id), [], tenant.staff_id),
        ("staff.revoked", str(tenant.extra_user_id), [], tenant.staff_id),
    ]
