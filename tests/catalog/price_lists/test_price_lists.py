"""Buyer groups and price lists: supplier-managed, tenant-isolated, and the price a
buyer sees is its own, never another buyer's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import Catalog, assert_problem, create_product, snapshot


async def make_list(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/price-lists",
        json={"name": f"List {uuid.uuid4().hex[:6]}", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_buyer_sees_its_list_price_and_no_other_buyer_does(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    price_list = await make_list(client, owner)
    tiers = await client.put(
        f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}",
        json={
            "tiers": [
                {"min_qty": "100", "unit_price": "0.20"},
                {"min_qty": "5000", "unit_price": "0.15"},
            ]
        },
        headers=owner,
    )
    assert tiers.status_code == 200, tiers.text
    assigned = await client.post(
        f"/api/v1/price-lists/{price_list['id']}/assignments",
        json={"buyer_id": str(catalog.buyer_id)},
        headers=owner,
    )
    assert assigned.status_code == 201, assigned.text

    url = f"/api/v1/products/{product['id']}"
    mine = (await client.get(url, headers=catalog.headers["buyer"])).json()
    assert mine["your_price"] == {
        "quantity": "100",
        "unit_price": "0.20",
        "line_total": "20.00",
        "currency": "EUR",
        "source": "price_list",
        "tier_min_qty": "100",
        "price_list_id": price_list["id"],
    }
    # The other buyer and anonymous visitors see the public tiers, never the list.
    theirs = await client.get(url, headers=catalog.headers["other_buyer"])
    assert theirs.json()["your_price"]["unit_price"] == "0.25"
    assert theirs.json()["your_price"]["source"] == "tiers"
    assert price_list["id"] not in theirs.text
    assert "0.20" not in theirs.text
    anonymous = await client.get(url)
    assert anonymous.json()["your_price"] is None
    assert "0.20" not in anonymous.text
    # And again after the buyer's read filled the shared cache.
    theirs = await client.get(url, headers=catalog.headers["other_buyer"])
    assert theirs.json()["your_price"]["unit_price"] == "0.25"
    assert "0.20" not in (await client.get(url)).text

    # Quotes at other quantities: list tier, list's higher tier, pack-size rule.
    price = f"{url}/price"
    quote = await client.get(price, params={"quantity": "6000"}, headers=catalog.headers["buyer"])
    assert quote.json()["unit_price"] == "0.15"
    assert quote.json()["line_total"] == "900.00"
    public = await client.get(price, params={"quantity": "6000"})
    assert public.json()["unit_price"] == "0.19"
    other = await client.get(
        price, params={"quantity": "6000"}, headers=catalog.headers["other_buyer"]
    )
    assert other.json()["unit_price"] == "0.19"


async def test_group_assignment_priority_and_deactivation(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    group = await client.post("/api/v1/buyer-groups", json={"name": "Distributors"}, headers=owner)
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    added = await client.post(
        f"/api/v1/buyer-groups/{group_id}/members",
        json={"buyer_id": str(catalog.buyer_id)},
        headers=owner,
    )
    assert added.json()["member_ids"] == [str(catalog.buyer_id)]

    low = await make_list(client, owner, priority=1)
    high = await make_list(client, owner, priority=5)
    for price_list, unit_price in ((low, "0.22"), (high, "0.18")):
        await client.put(
            f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}",
            json={"tiers": [{"min_qty": "100", "unit_price": unit_price}]},
            headers=owner,
        )
        await client.post(
            f"/api/v1/price-lists/{price_list['id']}/assignments",
            json={"group_id": group_id},
            headers=owner,
        )
    price = f"/api/v1/products/{product['id']}/price"
    buyer = catalog.headers["buyer"]
    assert (await client.get(price, params={"quantity": 100}, headers=buyer)).json()[
        "unit_price"
    ] == "0.18"
    # Deactivating the higher list lets the lower one apply.
    await client.patch(
        f"/api/v1/price-lists/{high['id']}", json={"is_active": False}, headers=owner
    )
    assert (await client.get(price, params={"quantity": 100}, headers=buyer)).json()[
        "unit_price"
    ] == "0.22"
    # Leaving the group ends both.
    removed = await client.delete(
        f"/api/v1/buyer-groups/{group_id}/members/{catalog.buyer_id}", headers=owner
    )
    assert removed.status_code == 204
    quote = (await client.get(price, params={"quantity": 100}, headers=buyer)).json()
    assert quote["unit_price"] == "0.25"
    assert quote["source"] == "tiers"

    detail = (await client.get(f"/api/v1/price-lists/{low['id']}", headers=owner)).json()
    assert detail["products"][0]["tiers"] == [{"min_qty": "100", "unit_price": "0.22"}]
    assert detail["assignments"][0]["group_id"] == group_id


async def test_price_list_tiers_are_validated(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    price_list = await make_list(client, owner)
    url = f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}"
    before = await snapshot(db_session)
    for tiers in (
        [{"min_qty": "500", "unit_price": "0.2"}, {"min_qty": "100", "unit_price": "0.1"}],
        [{"min_qty": "100", "unit_price": "0"}],
        [{"min_qty": "100.5", "unit_price": "0.2"}],
        [{"min_qty": "100", "unit_price": 0.30000000000000004}],
    ):
        assert_problem(await client.put(url, json={"tiers": tiers}, headers=owner), 422)
    assert await snapshot(db_session) == before
    # Another supplier's product cannot go on our list.
    foreign = await create_product(client, catalog.headers["outsider"])
    before = await snapshot(db_session)
    response = await client.put(
        f"/api/v1/price-lists/{price_list['id']}/products/{foreign['id']}",
        json={"tiers": [{"min_qty": "1", "unit_price": "1"}]},
        headers=owner,
    )
    assert_problem(response, 404)
    # Only buyer companies, and our own groups, are assigned.
    for body in (
        {"buyer_id": str(catalog.other_supplier_id)},
        {"buyer_id": str(uuid.uuid4())},
        {"group_id": str(uuid.uuid4())},
    ):
        response = await client.post(
            f"/api/v1/price-lists/{price_list['id']}/assignments", json=body, headers=owner
        )
        assert_problem(response, 404)
    assert_problem(
        await client.post(
            f"/api/v1/price-lists/{price_list['id']}/assignments",
            json={"buyer_id": str(catalog.buyer_id), "group_id": str(uuid.uuid4())},
            headers=owner,
        ),
        422,
    )
    assert await snapshot(db_session) == before


async def test_duplicate_names_and_assignments_are_409(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    def duplicate(response: httpx.Response, code: str) -> None:
        # The domain's own problem, not the generic conflict of any unique violation.
        assert assert_problem(response, 409)["type"] == f"urn:marketplace:problem:{code}"

    owner = catalog.headers["owner"]
    await make_list(client, owner, name="Gold")
    duplicate(
        await client.post("/api/v1/price-lists", json={"name": "Gold"}, headers=owner),
        "duplicate-price-list",
    )
    # Names are per supplier.
    await make_list(client, catalog.headers["outsider"], name="Gold")
    group = await client.post("/api/v1/buyer-groups", json={"name": "VIP"}, headers=owner)
    duplicate(
        await client.post("/api/v1/buyer-groups", json={"name": "VIP"}, headers=owner),
        "duplicate-buyer-group",
    )
    price_list = await make_list(client, owner)
    url = f"/api/v1/price-lists/{price_list['id']}/assignments"
    for body in ({"buyer_id": str(catalog.buyer_id)}, {"group_id": group.json()["id"]}):
        assert (await client.post(url, json=body, headers=owner)).status_code == 201
        duplicate(await client.post(url, json=body, headers=owner), "duplicate-assignment")


@pytest.mark.parametrize(
    "caller",
    ["anonymous", "outsider", "other_api_key", "purchaser", "viewer", "api_key_read_only", "buyer"],
)
async def test_price_lists_are_the_suppliers_alone(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, caller: str
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    price_list = await make_list(client, owner, name="Secret")
    group = (
        await client.post("/api/v1/buyer-groups", json={"name": "Secret group"}, headers=owner)
    ).json()
    headers = catalog.headers[caller]
    expected = {
        "anonymous": 401,
        "outsider": 404,
        "other_api_key": 404,
        "buyer": 403,  # a buyer company has no catalog
    }.get(caller, 403)
    before = await snapshot(db_session)
    list_url = f"/api/v1/price-lists/{price_list['id']}"
    group_url = f"/api/v1/buyer-groups/{group['id']}"
    calls = [
        client.get(list_url, headers=headers),
        client.patch(list_url, json={"priority": 9}, headers=headers),
        client.delete(list_url, headers=headers),
        client.put(
            f"{list_url}/products/{product['id']}",
            json={"tiers": [{"min_qty": "1", "unit_price": "0.01"}]},
            headers=headers,
        ),
        client.post(
            f"{list_url}/assignments", json={"buyer_id": str(catalog.buyer_id)}, headers=headers
        ),
        client.get(group_url, headers=headers),
        client.patch(group_url, json={"name": "Mine"}, headers=headers),
        client.delete(group_url, headers=headers),
        client.post(
            f"{group_url}/members", json={"buyer_id": str(catalog.buyer_id)}, headers=headers
        ),
    ]
    for call in calls:
        response = await call
        if caller in ("outsider", "other_api_key"):
            assert_problem(response, 404)
        else:
            assert_problem(response, expected)
        assert "Secret" not in response.text
    assert await snapshot(db_session) == before
    # Their own listings do not show ours.
    if caller in ("outsider", "other_api_key"):
        lists = await client.get("/api/v1/price-lists", headers=headers)
        assert lists.status_code == 200
        assert "Secret" not in lists.text
        groups = await client.get("/api/v1/buyer-groups", headers=headers)
        assert "Secret" not in groups.text


@pytest.mark.parametrize("caller", ["owner", "admin", "sales", "api_key"])
async def test_supplier_writers_manage_price_lists(
    client: httpx.AsyncClient, catalog: Catalog, caller: str
) -> None:
    headers = catalog.headers[caller]
    price_list = await make_list(client, headers, name=f"By {caller}")
    listed = await client.get("/api/v1/price-lists", headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [price_list["id"]]
    assert (
        await client.delete(f"/api/v1/price-lists/{price_list['id']}", headers=headers)
    ).status_code == 204


async def _all_pages(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int
) -> list[list[str]]:
    """The names on each page, following `next_cursor` to the end."""
    pages: list[list[str]] = []
    params: dict[str, str] = {"limit": str(limit)}
    while True:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["name"] for item in body["items"]])
        if body["next_cursor"] is None:
            return pages
        params["cursor"] = body["next_cursor"]


async def test_buyer_groups_are_listed_by_name_a_page_at_a_time(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    for name in ("Retail", "Distributors", "VIP", "Key accounts", "Export"):
        response = await client.post("/api/v1/buyer-groups", json={"name": name}, headers=owner)
        assert response.status_code == 201, response.text
    # Another supplier's group is never on our pages.
    other = await client.post(
        "/api/v1/buyer-groups", json={"name": "Builders"}, headers=catalog.headers["outsider"]
    )
    assert other.status_code == 201, other.text
    assert await _all_pages(client, "/api/v1/buyer-groups", owner, 2) == [
        ["Distributors", "Export"],
        ["Key accounts", "Retail"],
        ["VIP"],
    ]
    assert await _all_pages(client, "/api/v1/buyer-groups", owner, 5) == [
        ["Distributors", "Export", "Key accounts", "Retail", "VIP"]
    ]


async def test_price_lists_are_listed_by_priority_then_name_a_page_at_a_time(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    for name, priority in (("Gold", 10), ("Bronze", 0), ("Platinum", 10), ("Silver", 5)):
        await make_list(client, owner, name=name, priority=priority)
    await make_list(client, catalog.headers["outsider"], name="Theirs", priority=7)
    assert await _all_pages(client, "/api/v1/price-lists", owner, 1) == [
        ["Gold"],
        ["Platinum"],
        ["Silver"],
        ["Bronze"],
    ]
    assert await _all_pages(client, "/api/v1/price-lists", owner, 3) == [
        ["Gold", "Platinum", "Silver"],
        ["Bronze"],
    ]


@pytest.mark.parametrize("path", ["/api/v1/buyer-groups", "/api/v1/price-lists"])
@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        "WyJhIiwgImIiLCAiYyJd",  # ["a", "b", "c"]: the wrong arity
        "WzEsIDJd",  # [1, 2]: the wrong types
        "W3RydWUsICJhIl0",  # [true, "a"]: a boolean is no priority
        "WzFd",  # [1]: a number is no group name
    ],
)
async def test_a_bad_cursor_is_a_400_problem(
    client: httpx.AsyncClient, catalog: Catalog, path: str, cursor: str
) -> None:
    response = await client.get(path, params={"cursor": cursor}, headers=catalog.headers["owner"])
    body = assert_problem(response, 400)
    assert body["type"] == "urn:marketplace:problem:invalid-cursor"


@pytest.mark.parametrize("limit", ["0", "101", "x"])
async def test_a_limit_out_of_range_is_a_422_problem(
    client: httpx.AsyncClient, catalog: Catalog, limit: str
) -> None:
    for path in ("/api/v1/buyer-groups", "/api/v1/price-lists"):
        response = await client.get(path, params={"limit": limit}, headers=catalog.headers["owner"])
        assert_problem(response, 422)
