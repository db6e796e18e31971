"""A buyer's price lists show as `your_price`, for that buyer only, never from a cache."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import Product
from marketplace.companies.models import Company
from marketplace.companies.permissions import Scope
from marketplace.core.deps import get_read_session, get_session
from marketplace.settings import Settings
from tests.catalog.search.conftest import Catalog, search
from tests.conftest import client_for, make_settings, started_app
from tests.factories import (
    add_member,
    bearer_headers,
    make_api_key,
    make_buyer_group,
    make_company,
    make_price_list,
    make_user,
)


@dataclass
class Buyers:
    listed: dict[str, str]  # headers of a purchaser whose company has a list
    listed_and_other: dict[str, str]  # a member of the listed company and of another
    grouped: dict[str, str]  # headers of a buyer in a group with a list
    unlisted: dict[str, str]  # headers of a buyer without any list
    listed_api_key: dict[str, str]
    listed_key_without_catalog_scope: dict[str, str]
    listed_company_id: str


@pytest.fixture
async def buyers(app: FastAPI, db_session: AsyncSession, catalog: Catalog) -> Buyers:
    s = db_session
    listed = await make_company(s, name="Listed Buyer", country="DE")
    grouped = await make_company(s, name="Grouped Buyer", country="FR")
    unlisted = await make_company(s, name="Other Buyer", country="DE")
    de, cn = catalog.suppliers["de"], catalog.suppliers["cn"]
    drill = await s.get(Product, catalog.products["drill"])
    gloves = await s.get(Product, catalog.products["gloves"])
    helmet = await s.get(Product, catalog.products["helmet"])
    assert drill is not None
    assert gloves is not None
    assert helmet is not None
    await make_price_list(
        s,
        supplier=de,
        buyers=[listed],
        prices={drill: [(1, "70.00")], helmet: [(5, "9.00")]},
        priority=10,
    )
    # a lower-priority list for the same buyer loses
    await make_price_list(
        s, supplier=de, buyers=[listed], prices={drill: [(1, "1.00")]}, priority=0
    )
    group = await make_buyer_group(s, supplier=cn, buyers=[grouped])
    await make_price_list(s, supplier=cn, groups=[group], prices={gloves: [(10, "2.50")]})
    # an inactive list never applies
    await make_price_list(
        s, supplier=de, buyers=[unlisted], prices={drill: [(1, "5.00")]}, is_active=False
    )

    async def member(company: Company) -> dict[str, str]:
        user = await make_user(s)
        await add_member(s, company, user, "purchaser")
        return await bearer_headers(app, s, user)

    _key, key_headers = await make_api_key(app, s, listed, [Scope.CATALOG_READ])
    _key, orders_key_headers = await make_api_key(app, s, listed, [Scope.ORDERS_READ])
    two_companies = await make_user(s)
    await add_member(s, listed, two_companies, "viewer")
    await add_member(s, unlisted, two_companies, "purchaser")
    return Buyers(
        listed=await member(listed),
        listed_and_other=await bearer_headers(app, s, two_companies),
        grouped=await member(grouped),
        unlisted=await member(unlisted),
        listed_api_key=key_headers,
        listed_key_without_catalog_scope=orders_key_headers,
        listed_company_id=str(listed.id),
    )


def prices(body: dict[str, object]) -> dict[str, object]:
    items = body["items"]
    assert isinstance(items, list)
    return {item["sku"]: item["your_price"] for item in items}


async def test_a_buyer_sees_its_own_list_prices(client: httpx.AsyncClient, buyers: Buyers) -> None:
    body = await search(client, headers=buyers.listed)
    your = prices(body)
    assert your["DR-18"] == "70.00"  # from the higher-priority of its two lists
    assert your["GL-1"] is None
    # the helmet's list tier starts at 5: at the MOQ of 1 the public price applies
    assert your["HL-3"] is None
    at_five = prices(await search(client, headers=buyers.listed, quantity="5"))
    assert at_five["HL-3"] == "9.00"
    # the public price is shown beside it, unchanged
    drill = next(item for item in body["items"] if item["sku"] == "DR-18")
    assert drill["unit_price"] == "89.00"


async def test_group_lists_apply_to_their_members(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    your = prices(await search(client, headers=buyers.grouped))
    assert your["GL-1"] == "2.50"
    assert your["DR-18"] is None


async def test_no_other_buyer_or_visitor_sees_a_list_price(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    assert set(prices(await search(client, headers=buyers.unlisted)).values()) == {None}
    assert set(prices(await search(client)).values()) == {None}


async def test_api_key_of_the_buyer_sees_its_prices(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    assert prices(await search(client, headers=buyers.listed_api_key))["DR-18"] == "70.00"


async def test_a_member_of_several_companies_names_the_one_it_buys_for(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    # without X-Company-ID the company is ambiguous: public prices, not an error
    assert set(prices(await search(client, headers=buyers.listed_and_other)).values()) == {None}
    named = buyers.listed_and_other | {"X-Company-ID": buyers.listed_company_id}
    assert prices(await search(client, headers=named))["DR-18"] == "70.00"


async def test_api_key_without_catalog_scope_sees_public_prices(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    body = await search(client, headers=buyers.listed_key_without_catalog_scope)
    assert set(prices(body).values()) == {None}


async def test_naming_a_company_one_is_not_a_member_of_is_404(
    client: httpx.AsyncClient, buyers: Buyers
) -> None:
    headers = buyers.unlisted | {"X-Company-ID": buyers.listed_company_id}
    response = await client.get("/api/v1/products", headers=headers)
    assert response.status_code == 404
    response = await client.get("/api/v1/products", headers=buyers.unlisted | {"X-Company-ID": "x"})
    assert response.status_code == 400


@pytest.fixture
def cached_settings(database_url: str) -> Settings:
    return make_settings(
        database_url=database_url,
        catalog_search_cache_ttl_seconds=60,
        rate_limit_anonymous="100000/minute",
    )


async def test_cached_pages_never_carry_a_buyers_price(
    app: FastAPI, cached_settings: Settings, db_session: AsyncSession, buyers: Buyers
) -> None:
    """The listed buyer's request fills the cache; the others read that entry."""
    async for cached_app in started_app(cached_settings):
        cached_app.dependency_overrides[get_session] = app.dependency_overrides[get_session]
        cached_app.dependency_overrides[get_read_session] = app.dependency_overrides[
            get_read_session
        ]
        async with client_for(cached_app) as client:
            first = prices(await search(client, headers=buyers.listed))
            assert first["DR-18"] == "70.00"
            assert set(prices(await search(client)).values()) == {None}
            assert set(prices(await search(client, headers=buyers.unlisted)).values()) == {None}
            grouped = prices(await search(client, headers=buyers.grouped))
            assert grouped["GL-1"] == "2.50"
            assert grouped["DR-18"] is None
            assert prices(await search(client, headers=buyers.listed))["DR-18"] == "70.00"


async def test_responses_vary_by_credentials(client: httpx.AsyncClient, buyers: Buyers) -> None:
    for headers in ({}, buyers.listed):
        response = await client.get("/api/v1/products", headers=headers)
        assert "Authorization" in response.headers["Vary"]
        assert "X-Company-ID" in response.headers["Vary"]
