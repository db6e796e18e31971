"""A signed-in buyer's read is served like an anonymous one: who they are and whom they
act for from the principal cache (identity.principal_cache), the detail and their price
list from the catalog's caches, with no statement at all; and every change to who they
are (a sign-out, a revoked session, a membership, the staff flag) is seen by the next
read, in every process sharing the cache (two application instances on one Redis)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.identity import principal_cache
from marketplace.identity import service as identity
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, create_product
from tests.catalog.price_lists.test_price_lists import make_list
from tests.conftest import REDIS_URL, client_for, make_settings, require_service, started_app
from tests.factories import add_member, bearer_headers, make_company, make_user, platform_of
from tests.statements import statements_sent


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    require_service("Redis", REDIS_URL, 6379)
    return make_settings(
        database_url=database_url, redis_url=REDIS_URL, storage_dir=tmp_path / "storage"
    )


async def _priced_product(client: httpx.AsyncClient, catalog: Catalog) -> str:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    price_list = await make_list(client, owner)
    tiers = {"tiers": [{"min_qty": "100", "unit_price": "0.20"}]}
    put = await client.put(
        f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}",
        json=tiers,
        headers=owner,
    )
    assert put.status_code == 200, put.text
    assigned = await client.post(
        f"/api/v1/price-lists/{price_list['id']}/assignments",
        json={"buyer_id": str(catalog.buyer_id)},
        headers=owner,
    )
    assert assigned.status_code == 201, assigned.text
    return f"/api/v1/products/{product['id']}"


async def test_a_cached_signed_in_detail_and_search_send_no_statement(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    url = await _priced_product(client, catalog)
    buyer = catalog.headers["buyer"]
    first = await client.get(url, headers=buyer)
    assert first.status_code == 200, first.text
    assert first.json()["your_price"]["source"] == "price_list"

    async with statements_sent(db_session) as sent:
        again = await client.get(url, headers=buyer)
    assert again.status_code == 200, again.text
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert sent.statements == []  # no session, no membership, no price list, no product

    # With the company named, as a buyer in several companies sends it: the same.
    named = {**buyer, "X-Company-ID": str(catalog.buyer_id)}
    async with statements_sent(db_session) as sent:
        assert (await client.get(url, headers=named)).content == first.content
    assert sent.statements == []
    # A company the buyer does not belong to is still a 404, from the cached memberships.
    async with statements_sent(db_session) as sent:
        stranger = await client.get(url, headers={**buyer, "X-Company-ID": str(uuid.uuid4())})
    assert stranger.status_code == 404, stranger.text
    assert sent.statements == []

    search = "/api/v1/products?q=bolt"
    searched = await client.get(search, headers=buyer)
    assert searched.status_code == 200, searched.text
    async with statements_sent(db_session) as sent:
        assert (await client.get(search, headers=buyer)).content == searched.content
    assert sent.count("auth_sessions") == 0, sent.statements
    assert sent.count("memberships") == 0, sent.statements


async def test_a_sign_out_and_a_revoked_session_are_seen_by_the_next_read(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    url = await _priced_product(client, catalog)
    buyer = catalog.headers["buyer"]
    assert (await client.get(url, headers=buyer)).status_code == 200
    assert (await client.get(url, headers=buyer)).status_code == 200  # from the cache

    assert (await client.post("/api/v1/auth/logout", headers=buyer)).status_code == 204
    refused = await client.get(url, headers=buyer)
    assert refused.status_code == 401, refused.text
    assert (await client.get("/api/v1/me", headers=buyer)).status_code == 401


async def test_a_browser_sign_out_is_seen_by_the_next_read(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    url = await _priced_product(client, catalog)
    user = await make_user(db_session)
    company = await make_company(db_session, kind="buyer")
    await add_member(db_session, company, user, "purchaser")
    platform = platform_of(app)
    browser = await identity.start_browser_session(
        db_session, platform, user, identity.ClientInfo(ip="127.0.0.1", user_agent="tests")
    )
    cookie = {"Cookie": f"{platform.settings.session_cookie_name}={browser.cookie_secret}"}
    first = await client.get(url, headers=cookie)
    assert first.status_code == 200, first.text
    assert first.json()["your_price"]["source"] == "tiers"  # acting for its one company
    async with statements_sent(db_session) as sent:
        assert (await client.get(url, headers=cookie)).content == first.content
    assert sent.statements == []

    csrf = {**cookie, "X-CSRF-Token": browser.csrf_token}
    assert (await client.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
    assert (await client.get(url, headers=cookie)).status_code == 401


async def test_a_session_revoked_from_another_device_is_seen_at_once(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    url = await _priced_product(client, catalog)
    user = await make_user(db_session)
    company = await make_company(db_session, kind="buyer")
    await add_member(db_session, company, user, "purchaser")
    laptop = await bearer_headers(app, db_session, user)
    phone = await bearer_headers(app, db_session, user)
    assert (await client.get(url, headers=phone)).status_code == 200
    listed = await client.get("/api/v1/me/sessions", headers=laptop)
    phone_session = next(item["id"] for item in listed.json() if not item["is_current"])

    revoked = await client.delete(f"/api/v1/me/sessions/{phone_session}", headers=laptop)
    assert revoked.status_code == 204, revoked.text
    assert (await client.get(url, headers=phone)).status_code == 401
    assert (await client.get(url, headers=laptop)).status_code == 200


async def test_membership_changes_are_seen_by_the_next_read(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    url = await _priced_product(client, catalog)
    buyer = catalog.headers["buyer"]
    body = (await client.get(url, headers=buyer)).json()
    assert body["your_price"]["source"] == "price_list"
    me = (await client.get("/api/v1/me", headers=buyer)).json()
    user_id = me["id"]
    assert [company["role"] for company in me["companies"]] == ["purchaser"]

    # A second company: the buyer no longer acts for one without naming it.
    created = await client.post(
        "/api/v1/companies",
        json={"name": "Second Buyer", "kind": "buyer", "country": "DE"},
        headers=buyer,
    )
    assert created.status_code == 201, created.text
    assert (await client.get(url, headers=buyer)).json()["your_price"] is None
    named = {**buyer, "X-Company-ID": str(catalog.buyer_id)}
    assert (await client.get(url, headers=named)).json()["your_price"] is not None

    # Leaving the first company: naming it is a 404 from the next read on.
    second = {**buyer, "X-Company-ID": created.json()["id"]}
    left = await client.delete(
        f"/api/v1/companies/{catalog.buyer_id}/members/{user_id}", headers=named
    )
    assert left.status_code == 204, left.text
    assert (await client.get(url, headers=named)).status_code == 404
    assert (await client.get(url, headers=second)).status_code == 200
    # One company again: acting for it without naming it, whose prices are the tiers.
    assert (await client.get(url, headers=buyer)).json()["your_price"]["source"] == "tiers"


async def test_a_role_change_is_seen_by_the_next_read(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    viewer = catalog.headers["viewer"]
    me = (await client.get("/api/v1/me", headers=viewer)).json()
    assert (await client.get("/api/v1/audit-events", headers=viewer)).status_code == 403
    promoted = await client.patch(
        f"/api/v1/companies/{catalog.supplier_id}/members/{me['id']}",
        json={"role": "admin"},
        headers=catalog.headers["owner"],
    )
    assert promoted.status_code == 200, promoted.text
    assert (await client.get("/api/v1/audit-events", headers=viewer)).status_code == 200


async def test_a_removed_member_is_a_stranger_from_the_next_read(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"], status="draft")
    url = f"/api/v1/products/{product['id']}"
    viewer = catalog.headers["viewer"]
    assert (await client.get(url, headers=viewer)).status_code == 200  # its own draft
    me = (await client.get("/api/v1/me", headers=viewer)).json()

    removed = await client.delete(
        f"/api/v1/companies/{catalog.supplier_id}/members/{me['id']}",
        headers=catalog.headers["owner"],
    )
    assert removed.status_code == 204, removed.text
    assert (await client.get(url, headers=viewer)).status_code == 404  # a stranger's draft


async def test_the_staff_flag_is_seen_by_the_next_read(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, app: FastAPI
) -> None:
    staff = await make_user(db_session, is_staff=True)
    headers = await bearer_headers(app, db_session, staff)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    product = await create_product(client, catalog.headers["owner"], status="draft")
    url = f"/api/v1/products/{product['id']}"
    assert (await client.get(url, headers=headers)).status_code == 200  # staff see drafts
    revoked = await client.delete(
        f"/api/v1/admin/users/{me['id']}/staff", headers=catalog.headers["staff"]
    )
    assert revoked.status_code == 200, revoked.text
    assert (await client.get(url, headers=headers)).status_code == 404


async def test_a_sign_out_through_one_instance_is_seen_by_the_other(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, catalog: Catalog
) -> None:
    """Two application instances (two processes in production) share the Redis cache,
    as they do behind a load balancer: each caches principals, and a sign-out through
    one is refused by the other at once."""
    url = await _priced_product(client, catalog)
    buyer = catalog.headers["buyer"]
    async for other in started_app(settings):
        other.dependency_overrides.update(app.dependency_overrides)
        async with client_for(other) as second:
            for http in (client, second, client, second):  # each caches, then hits
                assert (await http.get(url, headers=buyer)).status_code == 200
            generation = await platform_of(other).cache.get(principal_cache.GENERATION_KEY)
            assert generation is not None

            assert (await client.post("/api/v1/auth/logout", headers=buyer)).status_code == 204
            assert (await second.get(url, headers=buyer)).status_code == 401
            assert (await client.get(url, headers=buyer)).status_code == 401


async def test_an_entry_of_an_older_generation_is_not_used(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    """What changes outside any request is not announced: the entry lives at most
    `TTL_SECONDS`. A change that deletes the generation (as every change through the
    service does) is seen at once, even by a reader that stored its entry meanwhile."""
    url = await _priced_product(client, catalog)
    buyer = catalog.headers["buyer"]
    assert (await client.get(url, headers=buyer)).status_code == 200
    await db_session.execute(
        text(
            "UPDATE auth_sessions SET revoked_at = now() WHERE user_id = "
            "(SELECT user_id FROM memberships WHERE company_id = :company)"
        ),
        {"company": catalog.buyer_id},
    )
    cache = platform_of(app).cache
    await cache.delete(principal_cache.GENERATION_KEY)
    assert (await client.get(url, headers=buyer)).status_code == 401
