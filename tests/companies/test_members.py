"""Members: roles, the owner role, the last owner, spending limits and monthly budgets,
leaving."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.companies.conftest import Tenant, assert_problem, snapshot
from tests.factories import bearer_headers, make_company, make_user


def members_url(tenant: Tenant, user_id: uuid.UUID | None = None) -> str:
    base = f"/api/v1/companies/{tenant.company_id}/members"
    return base if user_id is None else f"{base}/{user_id}"


async def member_row(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[str, Decimal | None] | None:
    row = (
        await session.execute(
            text(
                "SELECT role, spending_limit FROM memberships "
                "WHERE company_id = :company AND user_id = :user"
            ),
            {"company": company_id, "user": user_id},
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def test_members_are_listed_with_roles_and_limits(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(members_url(tenant), headers=tenant.headers["viewer"])
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    by_user = {item["user_id"]: item for item in page["items"]}
    assert len(by_user) == 6
    purchaser = by_user[str(tenant.user_ids["purchaser"])]
    assert purchaser["role"] == "purchaser"
    assert purchaser["spending_limit"] == "500.00"
    assert purchaser["name"] == "Purchaser Person"
    assert purchaser["email"] == tenant.emails["purchaser"]
    assert set(purchaser) == {
        "user_id",
        "name",
        "email",
        "phone",
        "role",
        "spending_limit",
        "monthly_budget",
        "joined_at",
    }
    assert purchaser["monthly_budget"] is None
    assert by_user[str(tenant.user_ids["owner"])]["spending_limit"] is None
    assert str(tenant.other_owner_id) not in by_user


async def test_members_are_paginated_without_gaps(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(members_url(tenant), params=params, headers=tenant.headers["owner"])
        ).json()
        seen += [item["user_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_the_page_size_is_bounded(
    client: httpx.AsyncClient, tenant: Tenant, limit: int
) -> None:
    response = await client.get(
        members_url(tenant), params={"limit": limit}, headers=tenant.headers["owner"]
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("manager", ["owner", "admin"])
async def test_managers_change_roles_and_limits(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, manager: str
) -> None:
    target = tenant.extra_user_id
    promoted = await client.patch(
        members_url(tenant, target),
        json={"role": "purchaser", "spending_limit": "1250.5"},
        headers=tenant.headers[manager],
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "purchaser"
    assert promoted.json()["spending_limit"] == "1250.50"
    assert await member_row(db_session, tenant.company_id, target) == (
        "purchaser",
        Decimal("1250.50"),
    )

    unlimited = await client.patch(
        members_url(tenant, target), json={"spending_limit": None}, headers=tenant.headers[manager]
    )
    assert unlimited.json()["spending_limit"] is None

    await client.patch(
        members_url(tenant, target), json={"spending_limit": 10}, headers=tenant.headers[manager]
    )
    moved = await client.patch(
        members_url(tenant, target), json={"role": "sales"}, headers=tenant.headers[manager]
    )
    assert moved.status_code == 200
    # A purchaser's limit means nothing in another role: it is dropped.
    assert await member_row(db_session, tenant.company_id, target) == ("sales", None)


async def budget_of(session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    return await session.scalar(
        text(
            "SELECT monthly_budget FROM memberships WHERE company_id = :company AND user_id = :user"
        ),
        {"company": company_id, "user": user_id},
    )


@pytest.mark.parametrize("manager", ["owner", "admin"])
async def test_managers_set_a_monthly_budget(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, manager: str
) -> None:
    target = tenant.user_ids["purchaser"]
    response = await client.patch(
        members_url(tenant, target),
        json={"monthly_budget": "2500.5"},
        headers=tenant.headers[manager],
    )
    assert response.status_code == 200, response.text
    assert response.json()["monthly_budget"] == "2500.50"
    assert response.json()["spending_limit"] == "500.00"  # untouched
    assert await budget_of(db_session, tenant.company_id, target) == Decimal("2500.50")
    listed = (await client.get(members_url(tenant), headers=tenant.headers["viewer"])).json()
    by_user = {item["user_id"]: item for item in listed["items"]}
    assert by_user[str(target)]["monthly_budget"] == "2500.50"

    cleared = await client.patch(
        members_url(tenant, target), json={"monthly_budget": None}, headers=tenant.headers[manager]
    )
    assert cleared.json()["monthly_budget"] is None
    assert await budget_of(db_session, tenant.company_id, target) is None

    await client.patch(
        members_url(tenant, target), json={"monthly_budget": "0"}, headers=tenant.headers[manager]
    )
    assert await budget_of(db_session, tenant.company_id, target) == Decimal("0.00")
    moved = await client.patch(
        members_url(tenant, target), json={"role": "viewer"}, headers=tenant.headers[manager]
    )
    assert moved.status_code == 200
    # Only purchasers order: in another role the budget is dropped with the limit.
    assert moved.json()["monthly_budget"] is None
    assert await budget_of(db_session, tenant.company_id, target) is None


@pytest.mark.parametrize("role", ["viewer", "sales", "admin", "owner"])
async def test_a_monthly_budget_is_only_for_purchasers(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, role: str
) -> None:
    before = await snapshot(db_session)
    response = await client.patch(
        members_url(tenant, tenant.extra_user_id),
        json={"role": role, "monthly_budget": "100.00"},
        headers=tenant.headers["owner"],
    )
    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:marketplace:problem:monthly-budget-not-allowed"
    assert problem["errors"][0]["loc"] == ["body", "monthly_budget"]
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"monthly_budget": "-1"}, "monthly_budget"),
        ({"monthly_budget": "-0.01"}, "monthly_budget"),
        ({"monthly_budget": "1.005"}, "monthly_budget"),
        ({"monthly_budget": "NaN"}, "monthly_budget"),
        ({"monthly_budget": "Infinity"}, "monthly_budget"),
        ({"monthly_budget": "1e30"}, "monthly_budget"),
        ({"monthly_budget": "plenty"}, "monthly_budget"),
        ({"monthly_budget": True}, "monthly_budget"),
        ({"spending_limit": "-1"}, "spending_limit"),
        ({"spending_limit": "1.005"}, "spending_limit"),
        ({"spending_limit": "NaN"}, "spending_limit"),
        ({"spending_limit": "1e30"}, "spending_limit"),
        ({"spending_limit": "lots"}, "spending_limit"),
        ({"role": "superuser"}, "role"),
        ({"role": None}, None),
        ({"is_staff": True}, "is_staff"),
        ({"user_id": str(uuid.uuid4())}, "user_id"),
    ],
)
async def test_bad_member_changes_are_rejected(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    body: dict[str, Any],
    field: str | None,
) -> None:
    before = await snapshot(db_session)
    response = await client.patch(
        members_url(tenant, tenant.user_ids["purchaser"]),
        json=body,
        headers=tenant.headers["owner"],
    )
    problem = assert_problem(response, 422)
    if field is not None:
        assert [error["loc"] for error in problem["errors"]] == [["body", field]]
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("role", ["viewer", "sales", "admin", "owner"])
async def test_a_spending_limit_is_only_for_purchasers(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, role: str
) -> None:
    before = await snapshot(db_session)
    response = await client.patch(
        members_url(tenant, tenant.extra_user_id),
        json={"role": role, "spending_limit": "100.00"},
        headers=tenant.headers["owner"],
    )
    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:marketplace:problem:spending-limit-not-allowed"
    assert problem["errors"][0]["loc"] == ["body", "spending_limit"]
    assert await snapshot(db_session) == before


async def test_unknown_member_is_not_found(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method,
            members_url(tenant, uuid.uuid4()),
            json={"role": "viewer"} if method == "PATCH" else None,
            headers=tenant.headers["owner"],
        )
        assert_problem(response, 404)


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("PATCH", "extra", {"role": "owner"}),  # grant
        ("PATCH", "owner", {"role": "admin"}),  # demote
        ("PATCH", "admin", {"role": "owner"}),  # promote yourself
        ("DELETE", "owner", None),  # remove
    ],
)
async def test_only_owners_touch_the_owner_role(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    tenant: Tenant,
    method: str,
    target: str,
    body: dict[str, Any] | None,
) -> None:
    target_id = tenant.extra_user_id if target == "extra" else tenant.user_ids[target]
    before = await snapshot(db_session)
    response = await client.request(
        method, members_url(tenant, target_id), json=body, headers=tenant.headers["admin"]
    )
    problem = assert_problem(response, 403)
    assert problem["type"] == "urn:marketplace:problem:owner-required"
    assert await snapshot(db_session) == before


async def test_an_owner_shares_and_hands_over_ownership(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    owner = tenant.headers["owner"]
    granted = await client.patch(
        members_url(tenant, tenant.user_ids["admin"]), json={"role": "owner"}, headers=owner
    )
    assert granted.status_code == 200, granted.text
    # Two owners now: the first may step down, and then leave.
    stepped_down = await client.patch(
        members_url(tenant, tenant.user_ids["owner"]), json={"role": "viewer"}, headers=owner
    )
    assert stepped_down.status_code == 200, stepped_down.text
    assert await member_row(db_session, tenant.company_id, tenant.user_ids["owner"]) == (
        "viewer",
        None,
    )
    # The new owner is now the last one.
    last = await client.patch(
        members_url(tenant, tenant.user_ids["admin"]),
        json={"role": "admin"},
        headers=tenant.headers["admin"],
    )
    assert_problem(last, 409)
    assert last.json()["type"] == "urn:marketplace:problem:last-owner"


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    owner_id = tenant.user_ids["owner"]
    before = await snapshot(db_session)
    for method, body in (("PATCH", {"role": "admin"}), ("DELETE", None)):
        response = await client.request(
            method, members_url(tenant, owner_id), json=body, headers=tenant.headers["owner"]
        )
        problem = assert_problem(response, 409)
        assert problem["detail"] == "A company must keep at least one owner."
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("role", ["admin", "purchaser", "sales", "viewer"])
async def test_any_member_may_leave(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant, role: str
) -> None:
    user_id = tenant.user_ids[role]
    response = await client.delete(members_url(tenant, user_id), headers=tenant.headers[role])
    assert response.status_code == 204, response.text
    assert await member_row(db_session, tenant.company_id, user_id) is None
    after = await client.get(members_url(tenant), headers=tenant.headers[role])
    assert_problem(after, 404)


async def test_an_owner_may_leave_when_another_owner_stays(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    await db_session.execute(
        text("UPDATE memberships SET role = 'owner' WHERE user_id = :id"),
        {"id": tenant.user_ids["admin"]},
    )
    owner_id = tenant.user_ids["owner"]
    response = await client.delete(members_url(tenant, owner_id), headers=tenant.headers["owner"])
    assert response.status_code == 204
    assert await member_row(db_session, tenant.company_id, owner_id) is None


async def test_managers_remove_members(
    client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> None:
    response = await client.delete(
        members_url(tenant, tenant.user_ids["sales"]), headers=tenant.headers["admin"]
    )
    assert response.status_code == 204
    assert await member_row(db_session, tenant.company_id, tenant.user_ids["sales"]) is None


async def test_membership_elsewhere_survives_leaving(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    first = await make_company(db_session, owner=await make_user(db_session))
    second = await make_company(db_session, owner=await make_user(db_session))
    for company in (first, second):
        await db_session.execute(
            text("INSERT INTO memberships (company_id, user_id, role) VALUES (:c, :u, 'viewer')"),
            {"c": company.id, "u": user.id},
        )
    headers = await bearer_headers(app, db_session, user)
    response = await client.delete(
        f"/api/v1/companies/{first.id}/members/{user.id}", headers=headers
    )
    assert response.status_code == 204
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert [company["company_id"] for company in me["companies"]] == [str(second.id)]
