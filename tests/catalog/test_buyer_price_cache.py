"""A signed-in buyer's detail is served from the caches too: the shared detail entry
and the buyer's own cached price list choice. A change to a price list is seen at
once, and one buyer's entry is never another buyer's."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import Catalog, create_product
from tests.catalog.price_lists.test_price_lists import make_list
from tests.statements import statements_sent


async def _price(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    your_price = response.json()["your_price"]
    return f"{your_price['unit_price']} {your_price['source']}"


async def test_a_buyers_price_comes_from_the_cache_and_changes_are_seen_at_once(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner, buyer, other = (catalog.headers[role] for role in ("owner", "buyer", "other_buyer"))
    product = await create_product(client, owner)  # public tiers: 0.25 from 100
    price_list = await make_list(client, owner)
    tiers_url = f"/api/v1/price-lists/{price_list['id']}/products/{product['id']}"
    tiers = {"tiers": [{"min_qty": "100", "unit_price": "0.20"}]}
    assert (await client.put(tiers_url, json=tiers, headers=owner)).status_code == 200
    assigned = await client.post(
        f"/api/v1/price-lists/{price_list['id']}/assignments",
        json={"buyer_id": str(catalog.buyer_id)},
        headers=owner,
    )
    assert assigned.status_code == 201, assigned.text
    url = f"/api/v1/products/{product['id']}"

    assert await _price(client, url, buyer) == "0.20 price_list"
    async with statements_sent(db_session) as sent:
        assert await _price(client, url, buyer) == "0.20 price_list"
    assert sent.count("price_list_tiers") == 0, sent.statements  # served from the cache
    # Another buyer with no list: its own entry, the public tiers, again from the cache.
    assert await _price(client, url, other) == "0.25 tiers"
    async with statements_sent(db_session) as sent:
        assert await _price(client, url, other) == "0.25 tiers"
    assert sent.count("price_list_tiers") == 0, sent.statements

    # The list's tiers change: seen at once, by that buyer only.
    tiers = {"tiers": [{"min_qty": "100", "unit_price": "0.17"}]}
    assert (await client.put(tiers_url, json=tiers, headers=owner)).status_code == 200
    assert await _price(client, url, buyer) == "0.17 price_list"
    assert await _price(client, url, other) == "0.25 tiers"
    quote = await client.get(f"{url}/price", params={"quantity": "200"}, headers=buyer)
    assert quote.json()["line_total"] == "34.00"

    # Assigned to the other buyer too, unassigned from the first: both seen at once.
    to_other = await client.post(
        f"/api/v1/price-lists/{price_list['id']}/assignments",
        json={"buyer_id": str(catalog.other_buyer_id)},
        headers=owner,
    )
    assert to_other.status_code == 201, to_other.text
    assert await _price(client, url, other) == "0.17 price_list"
    removed = await client.delete(
        f"/api/v1/price-lists/{price_list['id']}/assignments/{assigned.json()['id']}",
        headers=owner,
    )
    assert removed.status_code == 204
    assert await _price(client, url, buyer) == "0.25 tiers"
    assert await _price(client, url, other) == "0.17 price_list"

    # A product change (its public tiers) is seen at once as well.
    patched = await client.patch(
        url,
        json={"price_tiers": [{"min_qty": "100", "unit_price": "0.30"}]},
        headers={**owner, "If-Match": (await client.get(url, headers=owner)).headers["ETag"]},
    )
    assert patched.status_code == 200, patched.text
    assert await _price(client, url, buyer) == "0.30 tiers"
    assert await _price(client, url, other) == "0.17 price_list"


async def test_a_write_by_someone_else_does_not_retire_the_entries(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    """Only a supplier's member retires them: an anonymous write is refused first."""
    owner, buyer = catalog.headers["owner"], catalog.headers["buyer"]
    product = await create_product(client, owner)
    url = f"/api/v1/products/{product['id']}"
    assert await _price(client, url, buyer) == "0.25 tiers"
    refused = await client.post("/api/v1/price-lists", json={"name": "Nope"})
    assert refused.status_code == 401
    async with statements_sent(db_session) as sent:
        assert await _price(client, url, buyer) == "0.25 tiers"
    assert sent.count("price_list_tiers") == 0, sent.statements
