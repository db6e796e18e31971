"""Company addresses: one default shipping address at most."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import Tenant, assert_problem, make_address, snapshot

ADDRESS = {
    "label": "Main warehouse",
    "recipient": "Goods receiving",
    "line1": "Industriestrasse 7",
    "city": "Stuttgart",
    "postal_code": "70565",
    "country": "DE",
}


def addresses_url(tenant: Tenant) -> str:
    return f"/api/v1/companies/{tenant.company_id}/addresses"


async def defaults(session: AsyncSession, company_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT label FROM company_addresses "
            "WHERE company_id = :id AND is_default_shipping ORDER BY label"
        ),
        {"id": company_id},
    )
    return [row[0] for row in rows]


async def test_address_lifecycle(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    headers = tenant.headers["admin"]
    created = await client.post(addresses_url(tenant), json=ADDRESS, headers=headers)
    assert created.status_code == 201, created.text
    address = created.json()
    assert address["label"] == "Main warehouse"
    assert address["is_default_shipping"] is False
    assert address["is_billing"] is False
    assert address["line2"] is None

    updated = await client.patch(
        f"{addresses_url(tenant)}/{address['id']}",
        json={"line2": "Gate 3", "is_billing": True},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["line2"] == "Gate 3"
    assert updated.json()["is_billing"] is True
    assert updated.json()["city"] == "Stuttgart"

    listed = await client.get(addresses_url(tenant), headers=tenant.headers["viewer"])
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()["items"]} == {
        str(tenant.address_id),
        address["id"],
    }
    assert listed.json()["next_cursor"] is None

    deleted = await client.delete(f"{addresses_url(tenant)}/{address['id']}", headers=headers)
    assert deleted.status_code == 204
    again = await client.delete(f"{addresses_url(tenant)}/{address['id']}", headers=headers)
    assert_problem(again, 404)


async def test_a_new_default_shipping_address_replaces_the_previous_one(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    headers = tenant.headers["owner"]
    first = await client.post(
        addresses_url(tenant),
        json={**ADDRESS, "label": "First", "is_default_shipping": True},
        headers=headers,
    )
    assert first.status_code == 201
    assert await defaults(db_session, tenant.company_id) == ["First"]

    second = await client.post(
        addresses_url(tenant),
        json={**ADDRESS, "label": "Second", "is_default_shipping": True},
        headers=headers,
    )
    assert second.status_code == 201
    assert await defaults(db_session, tenant.company_id) == ["Second"]

    back = await client.patch(
        f"{addresses_url(tenant)}/{first.json()['id']}",
        json={"is_default_shipping": True},
        headers=headers,
    )
    assert back.status_code == 200
    assert back.json()["is_default_shipping"] is True
    assert await defaults(db_session, tenant.company_id) == ["First"]

    listed = await client.get(addresses_url(tenant), headers=headers)
    flags = {item["label"]: item["is_default_shipping"] for item in listed.json()["items"]}
    assert flags == {"Warehouse": False, "First": True, "Second": False}

    unset = await client.patch(
        f"{addresses_url(tenant)}/{first.json()['id']}",
        json={"is_default_shipping": False},
        headers=headers,
    )
    assert unset.status_code == 200
    assert await defaults(db_session, tenant.company_id) == []


async def test_default_shipping_is_per_company(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    await make_address(db_session, tenant.other_company_id, label="Beta default", default=True)
    response = await client.post(
        addresses_url(tenant),
        json={**ADDRESS, "label": "Acme default", "is_default_shipping": True},
        headers=tenant.headers["owner"],
    )
    assert response.status_code == 201
    assert await defaults(db_session, tenant.other_company_id) == ["Beta default"]
    assert await defaults(db_session, tenant.company_id) == ["Acme default"]


async def test_addresses_are_paginated(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    for index in range(4):
        await make_address(db_session, tenant.company_id, label=f"Depot {index}")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(
            addresses_url(tenant), params=params, headers=tenant.headers["viewer"]
        )
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "WyJ4IiwgInkiXQ"])
async def test_a_broken_cursor_is_a_400(
    client: httpx.AsyncClient, tenant: Tenant, cursor: str
) -> None:
    response = await client.get(
        addresses_url(tenant), params={"cursor": cursor}, headers=tenant.headers["owner"]
    )
    assert_problem(response, 400)
    assert response.json()["type"] == "urn:marketplace:problem:invalid-cursor"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"label": ""}, "label"),
        ({"label": "x" * 101}, "label"),
        ({"line1": "Street\x1b[31m"}, "line1"),
        ({"country": "DEU"}, "country"),
        ({"country": "QO"}, "country"),
        ({"postal_code": None}, "postal_code"),
        ({"is_default_shipping": "maybe"}, "is_default_shipping"),
        ({"company_id": str(uuid.uuid4())}, "company_id"),
    ],
)
async def test_bad_address_input_is_rejected(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    change: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(db_session)
    created = await client.post(
        addresses_url(tenant), json={**ADDRESS, **change}, headers=tenant.headers["owner"]
    )
    assert [error["loc"] for error in assert_problem(created, 422)["errors"]] == [["body", field]]
    updated = await client.patch(
        f"{addresses_url(tenant)}/{tenant.address_id}", json=change, headers=tenant.headers["owner"]
    )
    assert_problem(updated, 422)
    assert await snapshot(db_session) == before
