"""Verification: a company submits its legal identity, staff approve or reject."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import Tenant, assert_problem, snapshot
from tests.companies.test_authorisation import VERIFICATION
from tests.factories import make_company


def verification_url(tenant: Tenant) -> str:
    return f"/api/v1/companies/{tenant.company_id}/verification"


def decision_url(company_id: uuid.UUID) -> str:
    return f"/api/v1/admin/companies/{company_id}/verification"


async def set_status(session: AsyncSession, company_id: uuid.UUID, status: str) -> None:
    await session.execute(
        text("UPDATE companies SET verification_status = :status WHERE id = :id"),
        {"status": status, "id": company_id},
    )


async def test_submission_approval_and_history(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    submitted = await client.post(
        verification_url(tenant), json=VERIFICATION, headers=tenant.headers["owner"]
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "pending"
    company = (await client.get(f"/api/v1/companies/{tenant.company_id}")).json()
    assert company["verification_status"] == "pending"
    private = (
        await client.get(f"/api/v1/companies/{tenant.company_id}", headers=tenant.headers["viewer"])
    ).json()
    assert private["legal_name"] == "Acme Industrial GmbH"
    assert private["tax_id"] == "DE123456789"
    assert private["postal_code"] == "20457"

    again = await client.post(
        verification_url(tenant), json=VERIFICATION, headers=tenant.headers["owner"]
    )
    assert_problem(again, 409)
    assert "'pending'" in again.json()["detail"]

    queue = await client.get(
        "/api/v1/admin/companies",
        params={"verification_status": "pending"},
        headers=tenant.headers["staff"],
    )
    assert queue.status_code == 200
    assert [item["id"] for item in queue.json()["items"]] == [str(tenant.company_id)]
    assert queue.json()["items"][0]["tax_id"] == "DE123456789"

    approved = await client.post(
        decision_url(tenant.company_id),
        json={"decision": "approve", "reason": "Registry extract checked"},
        headers=tenant.headers["staff"],
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "verified"
    assert approved.json()["verified_at"] is not None

    read = await client.get(verification_url(tenant), headers=tenant.headers["viewer"])
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "verified"
    assert body["note"] == "Registry extract checked"
    assert [
        (event["from_status"], event["to_status"], event["actor_user_id"], event["reason"])
        for event in body["history"]
    ] == [
        ("unverified", "pending", str(tenant.user_ids["owner"]), None),
        ("pending", "verified", str(tenant.staff_id), "Registry extract checked"),
    ]

    decided_twice = await client.post(
        decision_url(tenant.company_id),
        json={"decision": "reject", "reason": "x"},
        headers=tenant.headers["staff"],
    )
    assert_problem(decided_twice, 409)


async def test_rejection_needs_a_reason_and_allows_a_new_submission(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    await set_status(db_session, tenant.company_id, "pending")
    before = await snapshot(db_session)
    missing = await client.post(
        decision_url(tenant.company_id),
        json={"decision": "reject"},
        headers=tenant.headers["staff"],
    )
    assert_problem(missing, 422)
    assert await snapshot(db_session) == before

    rejected = await client.post(
        decision_url(tenant.company_id),
        json={"decision": "reject", "reason": "Tax id does not match the registry"},
        headers=tenant.headers["staff"],
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["note"] == "Tax id does not match the registry"
    assert rejected.json()["verified_at"] is None

    resubmitted = await client.post(
        verification_url(tenant), json=VERIFICATION, headers=tenant.headers["admin"]
    )
    assert resubmitted.status_code == 200
    assert resubmitted.json()["status"] == "pending"
    assert resubmitted.json()["note"] is None
    assert [event["to_status"] for event in resubmitted.json()["history"]] == [
        "rejected",
        "pending",
    ]


@pytest.mark.parametrize("status", ["unverified", "verified", "rejected"])
async def test_staff_decide_only_pending_requests(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, status: str
) -> None:
    await set_status(db_session, tenant.company_id, status)
    before = await snapshot(db_session)
    response = await client.post(
        decision_url(tenant.company_id),
        json={"decision": "approve"},
        headers=tenant.headers["staff"],
    )
    assert_problem(response, 409)
    assert await snapshot(db_session) == before


async def test_a_decision_on_an_unknown_company_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        decision_url(uuid.uuid4()), json={"decision": "approve"}, headers=tenant.headers["staff"]
    )
    assert_problem(response, 404)


@pytest.mark.parametrize("missing", sorted(VERIFICATION))
async def test_every_legal_field_is_required(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, missing: str
) -> None:
    before = await snapshot(db_session)
    body = {name: value for name, value in VERIFICATION.items() if name != missing}
    response = await client.post(
        verification_url(tenant), json=body, headers=tenant.headers["owner"]
    )
    problem = assert_problem(response, 422)
    assert [error["loc"] for error in problem["errors"]] == [["body", missing]]
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    "change",
    [
        {"country": "XK"},
        {"tax_id": "DE 123; DROP TABLE companies"},
        {"legal_name": "x" * 201},
        {"verification_status": "verified"},
        {"city": "Hamburg\r\nX-Injected: 1"},
    ],
)
async def test_bad_verification_input_is_rejected(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, change: dict[str, Any]
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        verification_url(tenant), json={**VERIFICATION, **change}, headers=tenant.headers["owner"]
    )
    assert_problem(response, 422)
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe"},
        {"decision": "approve", "status": "verified"},
        {"decision": "reject", "reason": "   "},
        {},
    ],
)
async def test_bad_decisions_are_rejected(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, body: dict[str, Any]
) -> None:
    await set_status(db_session, tenant.company_id, "pending")
    before = await snapshot(db_session)
    response = await client.post(
        decision_url(tenant.company_id), json=body, headers=tenant.headers["staff"]
    )
    assert_problem(response, 422)
    assert await snapshot(db_session) == before


async def test_the_staff_queue_is_filtered_and_paginated(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    pending = [tenant.company_id]
    for _ in range(4):
        pending.append((await make_company(db_session, verification_status="pending")).id)
    await set_status(db_session, tenant.company_id, "pending")
    await make_company(db_session, verification_status="verified")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"verification_status": "pending", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await client.get(
            "/api/v1/admin/companies", params=params, headers=tenant.headers["staff"]
        )
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 2
        assert {item["verification_status"] for item in page.json()["items"]} <= {"pending"}
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(company_id) for company_id in pending)

    everything = await client.get(
        "/api/v1/admin/companies", params={"limit": 100}, headers=tenant.headers["staff"]
    )
    assert len(everything.json()["items"]) >= 7
    bad = await client.get(
        "/api/v1/admin/companies",
        params={"verification_status": "approved"},
        headers=tenant.headers["staff"],
    )
    assert_problem(bad, 422)
