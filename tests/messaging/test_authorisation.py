"""Who may do what with threads: anonymous, another company, each role, staff, API
keys by scope. Every denied call changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.permissions import Scope
from tests.factories import bearer_headers, make_api_key, make_user
from tests.messaging.conftest import PDF, Deals, counts
from tests.messaging.test_threads import open_thread, order_thread


@pytest.fixture
async def scene(app: FastAPI, client: httpx.AsyncClient, deals: Deals) -> dict[str, Any]:
    """An order thread with one message carrying a PDF, and an RFQ thread."""
    thread = await order_thread(client, deals)
    posted = await client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        data={"body": "See attached"},
        files=[("files", ("spec.pdf", PDF, "application/pdf"))],
        headers=deals.headers("supplier"),
    )
    assert posted.status_code == 201, posted.text
    rfq_thread = await open_thread(
        client, deals.headers("supplier"), subject_type="rfq", subject_id=deals.rfq["id"]
    )
    return {"thread": thread, "message": posted.json(), "rfq_thread": rfq_thread}


def calls(deals: Deals, scene: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    thread = scene["thread"]["id"]
    return {
        "list": ("GET", "/api/v1/threads", {}),
        "get": ("GET", f"/api/v1/threads/{thread}", {}),
        "messages": ("GET", f"/api/v1/threads/{thread}/messages", {}),
        "download": ("GET", scene["message"]["attachments"][0]["url"], {}),
        "post": ("POST", f"/api/v1/threads/{thread}/messages", {"json": {"body": "hi"}}),
        "read": ("POST", f"/api/v1/threads/{thread}/read", {}),
        "open": (
            "POST",
            "/api/v1/threads",
            {"json": {"subject_type": "order", "subject_id": deals.order["id"]}},
        ),
    }


async def run(
    client: httpx.AsyncClient, call: tuple[str, str, dict[str, Any]], headers: dict[str, str]
) -> httpx.Response:
    method, url, extra = call
    return await client.request(method, url, headers=headers, **extra)


async def check_matrix(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    deals: Deals,
    scene: dict[str, Any],
    headers: dict[str, str],
    expected: dict[str, int | tuple[int, str]],
) -> None:
    for name, outcome in expected.items():
        status, code = outcome if isinstance(outcome, tuple) else (outcome, None)
        before = await counts(db_session)
        response = await run(client, calls(deals, scene)[name], headers)
        assert response.status_code == status, (name, response.text)
        if code is not None:
            assert response.json()["type"] == f"urn:marketplace:problem:{code}", name
        if status >= 400:
            assert await counts(db_session) == before, name


async def test_anonymous_callers_get_401_everywhere(
    client: httpx.AsyncClient, db_session: AsyncSession, deals: Deals, scene: dict[str, Any]
) -> None:
    everything: dict[str, int | tuple[int, str]] = dict.fromkeys(
        calls(deals, scene), (401, "invalid-credentials")
    )
    await check_matrix(client, db_session, deals, scene, {}, everything)


async def test_another_company_gets_404_and_an_empty_list(
    client: httpx.AsyncClient, db_session: AsyncSession, deals: Deals, scene: dict[str, Any]
) -> None:
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        deals.headers("other_supplier"),
        {
            "get": (404, "not-found"),
            "messages": (404, "not-found"),
            "download": (404, "not-found"),
            "post": (404, "not-found"),
            "read": (404, "not-found"),
            "open": (404, "not-found"),
        },
    )
    listed = await client.get("/api/v1/threads", headers=deals.headers("other_supplier"))
    assert listed.json()["items"] == []


async def test_a_viewer_reads_and_marks_read_but_cannot_post_or_open(
    client: httpx.AsyncClient, db_session: AsyncSession, deals: Deals, scene: dict[str, Any]
) -> None:
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        deals.headers("viewer"),
        {
            "list": 200,
            "get": 200,
            "messages": 200,
            "download": 200,
            "read": 200,
            "post": (403, "role-not-allowed"),
            "open": (403, "role-not-allowed"),
        },
    )


@pytest.mark.parametrize("role", ["owner", "admin", "purchaser", "sales"])
async def test_every_other_role_of_either_side_posts(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    deals: Deals,
    scene: dict[str, Any],
    role: str,
) -> None:
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        deals.headers(role),
        {"list": 200, "get": 200, "messages": 200, "download": 200, "post": 201, "read": 200},
    )
    await check_matrix(
        client, db_session, deals, scene, deals.headers("supplier"), {"post": 201, "open": 200}
    )


async def test_staff_read_every_thread_and_write_in_none(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    deals: Deals,
    scene: dict[str, Any],
) -> None:
    staff = await make_user(db_session, is_staff=True)
    headers = await bearer_headers(app, db_session, staff)
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        headers,
        {
            "get": 200,
            "messages": 200,
            "download": 200,
            "post": (403, "staff-read-only"),
            "read": (403, "staff-read-only"),
            "open": (403, "staff-read-only"),
        },
    )
    listed = (await client.get("/api/v1/threads", headers=headers)).json()["items"]
    ids = {item["id"] for item in listed}
    assert {scene["thread"]["id"], scene["rfq_thread"]["id"]} <= ids
    mine = next(item for item in listed if item["id"] == scene["thread"]["id"])
    assert mine["unread_count"] is None
    # Naming a company the staff user is not a member of is the usual 404.
    named = await client.get(
        "/api/v1/threads", headers={**headers, "X-Company-ID": str(deals.market.buyer.id)}
    )
    assert named.status_code == 404
    # A non-staff user with no company cannot list anything.
    loner = await make_user(db_session)
    response = await client.get(
        "/api/v1/threads", headers=await bearer_headers(app, db_session, loner)
    )
    assert response.status_code == 400
    assert response.json()["type"] == "urn:marketplace:problem:company-required"


async def test_api_keys_act_by_scope_orders_for_order_threads_rfqs_for_rfq_threads(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    deals: Deals,
    scene: dict[str, Any],
) -> None:
    buyer = deals.market.buyer
    _key, orders_read = await make_api_key(app, db_session, buyer, [Scope.ORDERS_READ])
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        orders_read,
        {
            "get": 200,
            "messages": 200,
            "download": 200,
            "post": (403, "scope-not-allowed"),
            "read": (403, "api-key-not-allowed"),
            "open": (403, "scope-not-allowed"),
        },
    )
    listed = (await client.get("/api/v1/threads", headers=orders_read)).json()["items"]
    assert [item["id"] for item in listed] == [scene["thread"]["id"]]
    assert listed[0]["unread_count"] is None

    _key, orders_write = await make_api_key(app, db_session, buyer, [Scope.ORDERS_WRITE])
    await check_matrix(client, db_session, deals, scene, orders_write, {"post": 201, "open": 200})
    posted = await client.post(
        f"/api/v1/threads/{scene['thread']['id']}/messages",
        json={"body": "From our ERP"},
        headers=orders_write,
    )
    assert posted.json()["author_user_id"] is None
    assert posted.json()["author_company_id"] == str(buyer.id)

    _key, rfqs_write = await make_api_key(app, db_session, buyer, [Scope.RFQS_WRITE])
    await check_matrix(
        client,
        db_session,
        deals,
        scene,
        rfqs_write,
        {"get": (403, "scope-not-allowed"), "post": (403, "scope-not-allowed")},
    )
    listed = (await client.get("/api/v1/threads", headers=rfqs_write)).json()["items"]
    assert [item["id"] for item in listed] == [scene["rfq_thread"]["id"]]
    rfq_post = await client.post(
        f"/api/v1/threads/{scene['rfq_thread']['id']}/messages",
        json={"body": "Quantities attached"},
        headers=rfqs_write,
    )
    assert rfq_post.status_code == 201

    _key, catalog = await make_api_key(app, db_session, buyer, [Scope.CATALOG_READ])
    await check_matrix(
        client, db_session, deals, scene, catalog, {"list": (403, "scope-not-allowed")}
    )
