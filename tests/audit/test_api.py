"""Reading the audit log: who may, what each sees, filters, pages and bad filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.audit.conftest import (
    ADMIN_AUDIT_PATH,
    AUDIT_PATH,
    admin_log,
    audit_log,
    outbox_mark,
    record_outbox,
)
from tests.companies.conftest import Tenant
from tests.factories import bearer_headers, make_company, make_user

PROBLEM = "urn:marketplace:problem:"


async def make_history(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, t: Tenant
) -> None:
    """Five changes to the tenant (by owner and admin) and one to the other company."""
    mark = await outbox_mark(db_session)
    base = f"/api/v1/companies/{t.company_id}"
    calls: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("owner", "PATCH", base, {"description": "first"}),
        ("admin", "PATCH", base, {"description": "second"}),
        ("owner", "PATCH", f"{base}/members/{t.extra_user_id}", {"role": "sales"}),
        ("admin", "PATCH", f"{base}/addresses/{t.address_id}", {"label": "Dock 2"}),
        ("owner", "DELETE", f"{base}/invitations/{t.invitation_id}", None),
        (
            "outsider",
            "PATCH",
            f"/api/v1/companies/{t.other_company_id}",
            {"description": "theirs"},
        ),
    ]
    for caller, method, path, body in calls:
        response = await client.request(method, path, json=body, headers=t.headers[caller])
        assert response.status_code < 300, response.text
    assert len(await record_outbox(app, db_session, mark)) == 6


@pytest.fixture
async def history(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, tenant: Tenant
) -> Tenant:
    await make_history(app, client, db_session, tenant)
    return tenant


@pytest.fixture
async def readers(app: FastAPI, db_session: AsyncSession) -> dict[str, dict[str, str]]:
    """Just an owner and a staff member, for checks that need no history."""
    owner = await make_user(db_session)
    await make_company(db_session, owner=owner)
    staff = await make_user(db_session, is_staff=True)
    return {
        "owner": await bearer_headers(app, db_session, owner),
        "staff": await bearer_headers(app, db_session, staff),
    }


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["type"] == PROBLEM + code


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("anonymous", 401),
        ("viewer", 403),
        ("purchaser", 403),
        ("sales", 403),
        ("api_key", 403),  # every scope: none grants the audit log
        ("admin", 200),
        ("owner", 200),
    ],
)
async def test_who_may_read_a_company_log(
    client: httpx.AsyncClient, history: Tenant, caller: str, status: int
) -> None:
    response = await client.get(AUDIT_PATH, headers=history.headers[caller])
    assert response.status_code == status, response.text
    if status == 200:
        assert len(response.json()["items"]) == 5
    else:
        assert "items" not in response.json()


@pytest.mark.parametrize("caller", ["outsider", "staff", "other_api_key"])
async def test_another_company_log_is_not_found(
    client: httpx.AsyncClient, history: Tenant, caller: str
) -> None:
    response = await client.get(
        AUDIT_PATH, headers={**history.headers[caller], "X-Company-ID": str(history.company_id)}
    )
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("caller", "status"),
    [("anonymous", 401), ("owner", 403), ("admin", 403), ("api_key", 403), ("staff", 200)],
)
async def test_only_staff_read_the_whole_log(
    client: httpx.AsyncClient, history: Tenant, caller: str, status: int
) -> None:
    response = await client.get(ADMIN_AUDIT_PATH, headers=history.headers[caller])
    assert response.status_code == status, response.text
    if status != 200:
        assert "items" not in response.json()


async def test_each_company_sees_only_its_own_and_staff_see_both(
    client: httpx.AsyncClient, history: Tenant
) -> None:
    ours = await audit_log(client, history.headers["owner"])
    assert [entry["action"] for entry in ours] == [
        "invitation.revoked",
        "company.address_updated",
        "member.updated",
        "company.updated",
        "company.updated",
    ]
    assert "company_ids" not in ours[0]  # other companies concerned are not listed
    theirs = await audit_log(client, history.headers["outsider"])
    assert [(e["action"], e["details"]["company_id"]) for e in theirs] == [
        ("company.updated", str(history.other_company_id))
    ]
    # Ids of the other company's objects find nothing in ours.
    assert (
        await audit_log(client, history.headers["owner"], target_id=history.other_company_id) == []
    )

    for company_id, expected in ((history.company_id, 5), (history.other_company_id, 1)):
        staff_view = await admin_log(client, history.headers["staff"], company_id=company_id)
        assert len(staff_view) == expected
        assert all(entry["company_ids"] == [str(company_id)] for entry in staff_view)


async def test_filters_combine(client: httpx.AsyncClient, history: Tenant) -> None:
    staff = history.headers["staff"]
    company = {"company_id": history.company_id}

    def actions(entries: list[dict[str, Any]]) -> list[str]:
        return [entry["action"] for entry in entries]

    assert actions(await admin_log(client, staff, **company, action="company.updated")) == [
        "company.updated",
        "company.updated",
    ]
    # A family: every "company.*".
    assert actions(await admin_log(client, staff, **company, action="company")) == [
        "company.address_updated",
        "company.updated",
        "company.updated",
    ]
    by_admin = await admin_log(client, staff, **company, actor_user_id=history.user_ids["admin"])
    assert actions(by_admin) == ["company.address_updated", "company.updated"]
    assert actions(
        await admin_log(
            client, staff, **company, target_type="member", target_id=history.extra_user_id
        )
    ) == ["member.updated"]
    assert await admin_log(client, staff, **company, target_type="order") == []

    everything = await admin_log(client, staff, **company)
    newest, oldest = everything[0], everything[-1]
    since = datetime.fromisoformat(everything[1]["occurred_at"])
    until = datetime.fromisoformat(newest["occurred_at"])
    window = await admin_log(
        client, staff, **company, since=since.isoformat(), until=until.isoformat()
    )
    assert [entry["id"] for entry in window] == [everything[1]["id"]]
    after_oldest = await admin_log(
        client,
        staff,
        **company,
        since=(
            datetime.fromisoformat(oldest["occurred_at"]) + timedelta(microseconds=1)
        ).isoformat(),
    )
    assert len(after_oldest) == 4
    # The company route takes the same filters, within its own log.
    assert actions(
        await audit_log(client, history.headers["owner"], actor_user_id=history.user_ids["owner"])
    ) == ["invitation.revoked", "member.updated", "company.updated"]


async def test_pages_follow_the_cursor_newest_first(
    client: httpx.AsyncClient, history: Tenant
) -> None:
    headers = history.headers["owner"]
    everything = (await client.get(AUDIT_PATH, headers=headers)).json()["items"]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        body = (await client.get(AUDIT_PATH, params=params, headers=headers)).json()
        assert len(body["items"]) <= 2
        seen.extend(entry["id"] for entry in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [entry["id"] for entry in everything]
    occurred = [entry["occurred_at"] for entry in everything]
    assert occurred == sorted(occurred, reverse=True)


BAD_FILTERS: list[tuple[dict[str, str], str]] = [
    ({"action": "Company.updated"}, "validation-failed"),
    ({"action": "company.*"}, "validation-failed"),
    ({"action": "company.updated.again"}, "validation-failed"),
    ({"action": "x" * 101}, "validation-failed"),
    ({"actor_user_id": "someone"}, "validation-failed"),
    ({"actor_api_key_id": "1"}, "validation-failed"),
    ({"target_id": "not-a-uuid"}, "validation-failed"),
    ({"target_type": "order items"}, "validation-failed"),
    ({"since": "yesterday"}, "validation-failed"),
    ({"since": "2026-11-01T00:00:00"}, "validation-failed"),  # no time zone
    (
        {"since": "2026-11-02T00:00:00+00:00", "until": "2026-11-01T00:00:00+00:00"},
        "invalid-time-range",
    ),
    (
        {"since": "2026-11-01T00:00:00+00:00", "until": "2026-11-01T00:00:00+00:00"},
        "invalid-time-range",
    ),
    ({"limit": "0"}, "validation-failed"),
    ({"limit": "101"}, "validation-failed"),
    ({"cursor": "!!!"}, "invalid-cursor"),
]


async def test_bad_filters_are_problems(
    client: httpx.AsyncClient, readers: dict[str, dict[str, str]]
) -> None:
    # One app for every case (each is one GET that writes nothing).
    for path, caller in ((AUDIT_PATH, "owner"), (ADMIN_AUDIT_PATH, "staff")):
        for params, code in BAD_FILTERS:
            response = await client.get(path, params=params, headers=readers[caller])
            assert response.status_code == (400 if code == "invalid-cursor" else 422), (
                path,
                params,
                response.text,
            )
            assert response.json()["type"] == PROBLEM + code, (path, params)


async def test_a_bad_company_filter_is_a_problem(
    client: httpx.AsyncClient, readers: dict[str, dict[str, str]]
) -> None:
    response = await client.get(
        ADMIN_AUDIT_PATH, params={"company_id": "acme"}, headers=readers["staff"]
    )
    assert_problem(response, 422, "validation-failed")
