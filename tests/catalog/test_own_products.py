"""The supplier's own catalog listing (`GET /products/mine`) and optimistic
concurrency on product updates (`ETag` / `If-Match`, 412)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.etags import if_match_allows
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, assert_problem, create_product, snapshot
from tests.conftest import client_for, started_app
from tests.factories import platform_of
from tests.trade.conftest import Market, build_market, order_body, retire_products

MINE = "/api/v1/products/mine"


@pytest.fixture
async def market(app: FastAPI, db_session: AsyncSession) -> Market:
    """Trade's market: a buyer whose orders take stock from a supplier's products."""
    return await build_market(app, db_session)


@pytest.fixture
async def live_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Market]]:
    """The app on its real sessions (each request commits, requests run at once) with a
    committed market, whose products are archived afterwards (as trade's are)."""
    async for application in started_app(settings):
        factory = platform_of(application).database.session_factory
        async with factory() as session:
            built = await build_market(application, session)
            await session.commit()
        async with client_for(application) as client:
            yield client, built
        async with factory() as session:
            await retire_products(session, built)
            await session.commit()


async def _all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(MINE, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_own_listing_includes_drafts_and_archived_with_stock_and_tiers(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    active = await create_product(client, owner, status="active", stock="12000")
    draft = await create_product(client, owner, status="draft", stock="7")
    archived = await create_product(client, owner, status="archived")
    response = await client.get(MINE, headers=catalog.headers["viewer"])
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    by_id = {item["id"]: item for item in items}
    assert len(items) == 3
    assert {key: item["status"] for key, item in by_id.items()} == {
        active["id"]: "active",
        draft["id"]: "draft",
        archived["id"]: "archived",
    }
    assert by_id[draft["id"]]["stock"] == "7"
    assert by_id[active["id"]]["price_tiers"] == active["price_tiers"]
    assert by_id[active["id"]]["version"] == active["version"] == 1
    only_drafts = await client.get(MINE, params={"status": "draft"}, headers=owner)
    assert [item["id"] for item in only_drafts.json()["items"]] == [draft["id"]]


async def test_own_listing_never_includes_another_suppliers_products(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    mine = await create_product(client, catalog.headers["owner"], status="draft")
    theirs = await create_product(client, catalog.headers["outsider"], status="draft")
    own = await client.get(MINE, headers=catalog.headers["sales"])
    assert [item["id"] for item in own.json()["items"]] == [mine["id"]]
    other = await client.get(MINE, headers=catalog.headers["outsider"])
    assert [item["id"] for item in other.json()["items"]] == [theirs["id"]]
    by_key = await client.get(MINE, headers=catalog.headers["other_api_key"])
    assert [item["id"] for item in by_key.json()["items"]] == [theirs["id"]]


async def test_own_listing_is_refused_to_a_buyer_and_to_anonymous(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    await create_product(client, catalog.headers["owner"], status="draft")
    body = assert_problem(await client.get(MINE, headers=catalog.headers["buyer"]), 403)
    assert body["type"].endswith("supplier-required")
    assert_problem(await client.get(MINE, headers=catalog.headers["anonymous"]), 401)


async def test_own_listing_pages_by_keyset_without_gaps_or_repeats(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    created = [
        (await create_product(client, catalog.headers["owner"], status=status))["id"]
        for status in ("draft", "active", "archived", "active", "draft")
    ]
    pages = await _all_pages(client, catalog.headers["owner"], limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    paged = [item["id"] for page in pages for item in page]
    whole = await client.get(MINE, params={"limit": 100}, headers=catalog.headers["owner"])
    # Newest first, ties (one transaction's timestamp) by id: the same order either way.
    assert paged == [item["id"] for item in whole.json()["items"]]
    assert sorted(paged) == sorted(created)
    bad = await client.get(
        MINE, params={"cursor": "not-a-cursor"}, headers=catalog.headers["owner"]
    )
    assert_problem(bad, 400)


# --- ETag / If-Match --------------------------------------------------------------


def test_if_match_compares_strongly() -> None:
    assert if_match_allows('"3"', '"3"')
    assert if_match_allows('"1", "3"', '"3"')
    assert if_match_allows("*", '"3"')
    assert not if_match_allows('W/"3"', '"3"')
    assert not if_match_allows('"2"', '"3"')
    assert not if_match_allows("3", '"3"')


async def test_reads_and_updates_carry_the_version_as_etag(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    read = await client.get(f"/api/v1/products/{product['id']}", headers=owner)
    assert read.headers["etag"] == '"1"'
    patched = await client.patch(
        f"/api/v1/products/{product['id']}", json={"stock": "5"}, headers=owner
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    assert patched.json()["version"] == 2
    again = await client.get(f"/api/v1/products/{product['id']}", headers=owner)
    assert again.headers["etag"] == '"2"'


async def test_stale_if_match_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, catalog: Catalog, db_session: AsyncSession
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    url = f"/api/v1/products/{product['id']}"
    first = await client.patch(url, json={"stock": "10"}, headers={**owner, "If-Match": '"1"'})
    assert first.status_code == 200, first.text
    before = await snapshot(db_session)
    stale = await client.patch(url, json={"stock": "99"}, headers={**owner, "If-Match": '"1"'})
    body = assert_problem(stale, 412)
    assert body["type"].endswith("product-changed")
    assert stale.headers["etag"] == '"2"'
    assert await snapshot(db_session) == before
    read = (await client.get(url, headers=owner)).json()
    assert (read["stock"], read["version"]) == ("10", 2)


async def test_matching_if_match_applies_and_no_if_match_behaves_as_before(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    url = f"/api/v1/products/{product['id']}"
    tiers = [{"min_qty": "100", "unit_price": "0.30"}]
    matching = await client.patch(
        url, json={"price_tiers": tiers}, headers={**owner, "If-Match": '"1"'}
    )
    assert matching.status_code == 200, matching.text
    assert matching.json()["price_tiers"] == [{"min_qty": "100", "unit_price": "0.30"}]
    unconditional = await client.patch(url, json={"stock": "1"}, headers=owner)
    assert unconditional.status_code == 200, unconditional.text
    assert unconditional.json()["version"] == 3


async def test_stock_taken_by_an_order_makes_an_earlier_etag_stale(
    client: httpx.AsyncClient, market: Market
) -> None:
    url = f"/api/v1/products/{market.bolts.id}"
    supplier = market.headers["supplier"]
    etag = (await client.get(url, headers=supplier)).headers["etag"]
    placed = await client.post(
        "/api/v1/orders", json=order_body((market.bolts, 100)), headers=market.headers["owner"]
    )
    assert placed.status_code == 201, placed.text
    stale = await client.patch(url, json={"stock": "1000"}, headers={**supplier, "If-Match": etag})
    assert_problem(stale, 412)
    read = (await client.get(url, headers=supplier)).json()
    assert read["stock"] == "900"


async def test_concurrent_patches_with_one_etag_exactly_one_wins(
    live_client: tuple[httpx.AsyncClient, Market],
) -> None:
    client, live_market = live_client
    url = f"/api/v1/products/{live_market.washers.id}"
    supplier = live_market.headers["supplier"]
    etag = (await client.get(url, headers=supplier)).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.patch(
                url, json={"stock": str(100 + index)}, headers={**supplier, "If-Match": etag}
            )
            for index in range(8)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 7
    winner = next(response for response in responses if response.status_code == 200)
    read = (await client.get(url, headers=supplier)).json()
    assert read["stock"] == winner.json()["stock"]
    assert read["version"] == int(etag.strip('"')) + 1
