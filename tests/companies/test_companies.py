"""Registering a company, its public and private profile, and profile changes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import Tenant, assert_problem, snapshot
from tests.factories import bearer_headers, make_user

NEW_COMPANY = {
    "name": "Nordic Fasteners",
    "kind": "supplier",
    "country": "se",
    "legal_name": "Nordic Fasteners AB",
    "registration_number": "556677-8899",
    "tax_id": "SE556677889901",
    "website": "https://nordic-fasteners.example",
    "description": "Bolts, nuts and washers.\nShipped from Gothenburg.",
    "address_line1": "Hamngatan 4",
    "city": "Göteborg",
    "postal_code": "411 06",
}


@pytest.fixture
async def signed_in(app: FastAPI, db_session: AsyncSession) -> tuple[uuid.UUID, dict[str, str]]:
    user = await make_user(db_session, name="Founder")
    return user.id, await bearer_headers(app, db_session, user)


async def test_creator_becomes_the_owner_of_an_unverified_company(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    signed_in: tuple[uuid.UUID, dict[str, str]],
) -> None:
    user_id, headers = signed_in
    response = await client.post("/api/v1/companies", json=NEW_COMPANY, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Nordic Fasteners"
    assert body["kind"] == "supplier"
    assert body["country"] == "SE"
    assert body["verification_status"] == "unverified"
    assert body["legal_name"] == "Nordic Fasteners AB"
    assert body["website"] == "https://nordic-fasteners.example/"
    assert body["description"] == "Bolts, nuts and washers.\nShipped from Gothenburg."
    rows = (
        await db_session.execute(
            text("SELECT user_id, role FROM memberships WHERE company_id = :id"),
            {"id": uuid.UUID(body["id"])},
        )
    ).all()
    assert [tuple(row) for row in rows] == [(user_id, "owner")]

    me = await client.get("/api/v1/me", headers=headers)
    assert [(c["company_id"], c["role"]) for c in me.json()["companies"]] == [(body["id"], "owner")]


async def test_public_profile_hides_private_fields_from_visitors(
    client: httpx.AsyncClient, signed_in: tuple[uuid.UUID, dict[str, str]]
) -> None:
    _user_id, headers = signed_in
    created = (await client.post("/api/v1/companies", json=NEW_COMPANY, headers=headers)).json()
    public = await client.get(f"/api/v1/companies/{created['id']}")
    assert public.status_code == 200
    assert public.json() == {
        "id": created["id"],
        "name": "Nordic Fasteners",
        "kind": "supplier",
        "country": "SE",
        "verification_status": "unverified",
        "description": "Bolts, nuts and washers.\nShipped from Gothenburg.",
        "website": "https://nordic-fasteners.example/",
        "created_at": created["created_at"],
        # A supplier's trust signals: no trade yet, so no figures (tests/trade/test_reviews).
        "trust": {
            "rating_average": None,
            "review_count": 0,
            "on_time_delivery_rate": None,
            "delivered_order_count": 0,
            "rfq_response_median_seconds": None,
            "rfq_response_count": 0,
            "message_response_median_seconds": None,
            "message_response_count": 0,
        },
    }
    private = await client.get(f"/api/v1/companies/{created['id']}", headers=headers)
    assert private.json()["tax_id"] == "SE556677889901"
    assert private.json()["postal_code"] == "411 06"


async def test_unknown_company_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/companies/{uuid.uuid4()}")
    assert_problem(response, 404)
    assert response.json()["detail"] == "The company does not exist."


async def test_invalid_credentials_on_the_public_profile_are_rejected(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        f"/api/v1/companies/{tenant.company_id}", headers={"Authorization": "Bearer forged"}
    )
    assert_problem(response, 401)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"verification_status": "verified"}, "verification_status"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"company_id": str(uuid.uuid4())}, "company_id"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"name": "x" * 201}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Evil\x00Corp"}, "name"),
        ({"name": "Line\nbreak"}, "name"),
        ({"kind": "reseller"}, "kind"),
        ({"country": "XX"}, "country"),
        ({"country": "EU"}, "country"),
        ({"country": "Germany"}, "country"),
        ({"country": ""}, "country"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"website": "ftp://files.example"}, "website"),
        ({"tax_id": "DE<script>"}, "tax_id"),
        ({"registration_number": "x" * 65}, "registration_number"),
        ({"description": "bell\x07"}, "description"),
        ({"description": "d" * 5001}, "description"),
        ({"postal_code": "1" * 21}, "postal_code"),
    ],
)
async def test_bad_company_input_is_rejected_and_nothing_is_written(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    signed_in: tuple[uuid.UUID, dict[str, str]],
    change: dict[str, Any],
    field: str,
) -> None:
    _user_id, headers = signed_in
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/companies", json={**NEW_COMPANY, **change}, headers=headers
    )
    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", field]]
    assert await snapshot(db_session) == before


async def test_missing_required_fields_are_listed(
    client: httpx.AsyncClient, signed_in: tuple[uuid.UUID, dict[str, str]]
) -> None:
    _user_id, headers = signed_in
    response = await client.post("/api/v1/companies", json={}, headers=headers)
    body = assert_problem(response, 422)
    assert sorted(error["loc"][-1] for error in body["errors"]) == ["country", "kind", "name"]


async def test_owner_updates_the_profile(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    response = await client.patch(
        f"/api/v1/companies/{tenant.company_id}",
        json={"name": "Acme Industrial Group", "website": None, "description": "New text"},
        headers=tenant.headers["owner"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Acme Industrial Group"
    assert response.json()["description"] == "New text"
    row = (
        await db_session.execute(
            text("SELECT name, kind, country FROM companies WHERE id = :id"),
            {"id": tenant.company_id},
        )
    ).one()
    assert tuple(row) == ("Acme Industrial Group", "both", "DE")


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"kind": None},
        {"country": None},
        {"verification_status": "verified"},
        {"verified_at": "2026-01-01T00:00:00Z"},
        {"country": "ZZ"},
    ],
)
async def test_bad_profile_changes_are_rejected(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, change: dict[str, Any]
) -> None:
    before = await snapshot(db_session)
    response = await client.patch(
        f"/api/v1/companies/{tenant.company_id}", json=change, headers=tenant.headers["owner"]
    )
    assert_problem(response, 422)
    assert await snapshot(db_session) == before


async def _set_status(session: AsyncSession, company_id: uuid.UUID, status: str) -> None:
    await session.execute(
        text(
            "UPDATE companies SET verification_status = :status, legal_name = 'Acme GmbH', "
            "tax_id = 'DE1' WHERE id = :id"
        ),
        {"status": status, "id": company_id},
    )


async def _status_and_events(
    session: AsyncSession, company_id: uuid.UUID
) -> tuple[str, list[tuple[Any, ...]]]:
    status = await session.scalar(
        text("SELECT verification_status FROM companies WHERE id = :id"), {"id": company_id}
    )
    events = (
        await session.execute(
            text(
                "SELECT from_status, to_status, actor_user_id, reason "
                "FROM company_verification_events WHERE company_id = :id"
            ),
            {"id": company_id},
        )
    ).all()
    return str(status), [tuple(event) for event in events]


@pytest.mark.parametrize("status", ["pending", "verified"])
@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"legal_name": "Acme Holding GmbH"}, "legal_name"),
        ({"tax_id": "DE999", "country": "AT"}, "country, tax_id"),
        ({"registration_number": "HRB 1"}, "registration_number"),
    ],
)
async def test_changing_the_legal_identity_sends_the_company_back_to_unverified(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    status: str,
    change: dict[str, str],
    fields: str,
) -> None:
    await _set_status(db_session, tenant.company_id, status)
    response = await client.patch(
        f"/api/v1/companies/{tenant.company_id}", json=change, headers=tenant.headers["admin"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["verification_status"] == "unverified"
    assert response.json()["verified_at"] is None
    assert await _status_and_events(db_session, tenant.company_id) == (
        "unverified",
        [(status, "unverified", tenant.user_ids["admin"], f"legal identity changed: {fields}")],
    )


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed", "description": "d", "website": "https://acme.example"},
        {"legal_name": "Acme GmbH", "tax_id": "DE1"},  # the same values again
    ],
)
async def test_other_changes_keep_the_verification(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, change: dict[str, str]
) -> None:
    await _set_status(db_session, tenant.company_id, "verified")
    response = await client.patch(
        f"/api/v1/companies/{tenant.company_id}", json=change, headers=tenant.headers["owner"]
    )
    assert response.status_code == 200, response.text
    assert await _status_and_events(db_session, tenant.company_id) == ("verified", [])


async def test_an_unverified_company_changes_its_legal_identity_freely(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    response = await client.patch(
        f"/api/v1/companies/{tenant.company_id}",
        json={"legal_name": "Acme Industrial AG"},
        headers=tenant.headers["owner"],
    )
    assert response.status_code == 200
    assert await _status_and_events(db_session, tenant.company_id) == ("unverified", [])


async def test_problems_are_translated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.delete(
        f"/api/v1/companies/{tenant.company_id}/addresses/{uuid.uuid4()}",
        headers={**tenant.headers["owner"], "Accept-Language": "de"},
    )
    assert_problem(response, 404)
    assert response.json()["detail"] == "Die Adresse existiert nicht."
