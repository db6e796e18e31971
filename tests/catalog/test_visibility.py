"""Who sees and who changes a product: the visibility and isolation matrix.

Public when active, not blocked and of a verified supplier; the supplier's members,
its API keys and staff see everything; everyone else gets 404 for the rest. Only the
supplier's owners, admins, sales and `catalog:write` keys change it; every denied
call leaves the catalog as it was."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.conftest import Catalog, assert_problem, create_product, product_body, snapshot
from tests.factories import add_member, bearer_headers, make_company, make_user

SUPPLIER_SIDE = ("owner", "admin", "sales", "purchaser", "viewer", "api_key", "api_key_read_only")
OUTSIDE = ("anonymous", "outsider", "other_api_key", "buyer", "other_buyer")
CALLERS = (*SUPPLIER_SIDE, *OUTSIDE, "staff")
STATES = ("active", "draft", "archived", "blocked")


async def product_in_state(client: AsyncClient, catalog: Catalog, state: str) -> str:
    status = "active" if state == "blocked" else state
    product = await create_product(client, catalog.headers["owner"], status=status)
    if state == "blocked":
        response = await client.post(
            f"/api/v1/admin/products/{product['id']}/block",
            json={"reason": "Unsafe"},
            headers=catalog.headers["staff"],
        )
        assert response.status_code == 200
    return str(product["id"])


@pytest.mark.parametrize("caller", CALLERS)
async def test_read_matrix(client: AsyncClient, catalog: Catalog, caller: str) -> None:
    sees_everything = caller in SUPPLIER_SIDE or caller == "staff"
    for state in STATES:
        product_id = await product_in_state(client, catalog, state)
        response = await client.get(
            f"/api/v1/products/{product_id}", headers=catalog.headers[caller]
        )
        if state == "active" or sees_everything:
            assert response.status_code == 200, (state, response.text)
            body = response.json()
            assert body["status"] == ("active" if state == "blocked" else state)
            # Moderation is for the supplier and staff only.
            assert (body["moderation"] is not None) == sees_everything
            if state == "blocked":
                assert body["moderation"]["blocked_reason"] == "Unsafe"
        else:
            assert_problem(response, 404)
            assert "Hex bolt" not in response.text
        price = await client.get(
            f"/api/v1/products/{product_id}/price",
            params={"quantity": "100"},
            headers=catalog.headers[caller],
        )
        assert price.status_code == response.status_code, state


async def test_unverified_suppliers_products_are_not_public(
    app: FastAPI, client: AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    user = await make_user(db_session)
    supplier = await make_company(db_session, kind="both", verification_status="pending")
    await add_member(db_session, supplier, user, "owner")
    headers = await bearer_headers(app, db_session, user)
    product = await create_product(client, headers)
    url = f"/api/v1/products/{product['id']}"
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers=catalog.headers["buyer"]), 404)
    assert (await client.get(url, headers=headers)).status_code == 200
    assert (await client.get(url, headers=catalog.headers["staff"])).status_code == 200


WRITERS = {"owner", "admin", "sales", "api_key"}


def denied_status(caller: str) -> int:
    return {
        "anonymous": 401,
        "outsider": 404,
        "other_api_key": 404,
        "buyer": 403,  # a buyer company has no catalog
        "other_buyer": 403,
        "staff": 400,  # staff belong to no company: they must name one
    }.get(caller, 403)


@pytest.mark.parametrize("caller", CALLERS)
async def test_write_matrix(
    client: AsyncClient, db_session: AsyncSession, catalog: Catalog, caller: str
) -> None:
    product_id = await product_in_state(client, catalog, "draft")
    headers = catalog.headers[caller]
    url = f"/api/v1/products/{product_id}"
    before = await snapshot(db_session)
    update = await client.patch(url, json={"name": "Changed", "stock": "1"}, headers=headers)
    archive = await client.delete(url, headers=headers)
    if caller in WRITERS:
        assert update.status_code == 200, update.text
        assert archive.status_code == 204
        return
    expected = denied_status(caller)
    assert_problem(update, expected)
    assert_problem(archive, expected)
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("caller", CALLERS)
async def test_create_matrix(
    client: AsyncClient, db_session: AsyncSession, catalog: Catalog, caller: str
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/products", json=product_body(), headers=catalog.headers[caller]
    )
    if caller in WRITERS or caller in ("outsider", "other_api_key"):
        # Writers create in their own catalog, never in another's.
        assert response.status_code == 201, response.text
        expected_supplier = catalog.supplier_id if caller in WRITERS else catalog.other_supplier_id
        assert response.json()["supplier"]["id"] == str(expected_supplier)
        return
    assert_problem(response, {"anonymous": 401, "staff": 400}.get(caller, 403))
    assert await snapshot(db_session) == before


async def test_another_suppliers_product_is_404_even_with_its_id_in_the_header(
    client: AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product_id = await product_in_state(client, catalog, "draft")
    before = await snapshot(db_session)
    # The outsider names our company: not a member, so 404 before anything else.
    headers = {**catalog.headers["outsider"], "X-Company-ID": str(catalog.supplier_id)}
    for response in (
        await client.get(f"/api/v1/products/{product_id}", headers=headers),
        await client.patch(f"/api/v1/products/{product_id}", json={"name": "x"}, headers=headers),
        await client.delete(f"/api/v1/products/{product_id}", headers=headers),
    ):
        assert_problem(response, 404)
    assert await snapshot(db_session) == before


async def test_staff_moderation_is_staff_only(
    client: AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product_id = await product_in_state(client, catalog, "active")
    before = await snapshot(db_session)
    for caller in ("anonymous", "owner", "buyer", "api_key"):
        response = await client.post(
            f"/api/v1/admin/products/{product_id}/block",
            json={"reason": "Mine"},
            headers=catalog.headers[caller],
        )
        assert_problem(response, 401 if caller == "anonymous" else 403)
    assert await snapshot(db_session) == before
    missing_reason = await client.post(
        f"/api/v1/admin/products/{product_id}/block", json={}, headers=catalog.headers["staff"]
    )
    assert_problem(missing_reason, 422)
