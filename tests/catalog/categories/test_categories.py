"""The category tree: seeded taxonomy, public reads (cached), staff management."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.categories.models import Category
from tests.catalog.conftest import Catalog, assert_problem, create_product, snapshot


def find(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        found = find(node["children"], slug)
        if found is not None:
            return found
    return None


async def test_default_taxonomy_is_seeded_in_three_levels(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/categories")
    assert response.status_code == 200
    roots = response.json()["items"]
    assert {"industrial-supplies", "office-supplies", "packaging", "electrical"} <= {
        root["slug"] for root in roots
    }
    bolts = find(roots, "bolts")
    assert bolts is not None
    assert bolts["path"] == "industrial-supplies/fasteners/bolts"
    assert bolts["children"] == []

    detail = await client.get("/api/v1/categories/bolts")
    assert detail.status_code == 200
    assert [a["slug"] for a in detail.json()["ancestors"]] == ["industrial-supplies", "fasteners"]
    fasteners = (await client.get("/api/v1/categories/fasteners")).json()
    assert "bolts" in [child["slug"] for child in fasteners["children"]]
    assert_problem(await client.get("/api/v1/categories/no-such-thing"), 404)


async def test_staff_create_move_and_delete_categories(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    staff = catalog.headers["staff"]
    created = await client.post(
        "/api/v1/admin/categories",
        json={"slug": "test-root", "name": "Test root", "position": 99},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    child = await client.post(
        "/api/v1/admin/categories",
        json={"slug": "test-child", "name": "Test child", "parent": "test-root"},
        headers=staff,
    )
    assert child.json()["path"] == "test-root/test-child"
    grandchild = await client.post(
        "/api/v1/admin/categories",
        json={"slug": "test-grandchild", "name": "Grandchild", "parent": "test-child"},
        headers=staff,
    )
    assert grandchild.json()["path"] == "test-root/test-child/test-grandchild"

    # The cached tree shows the change at once.
    tree = (await client.get("/api/v1/categories")).json()["items"]
    assert find(tree, "test-grandchild") is not None

    moved = await client.patch(
        "/api/v1/admin/categories/test-child", json={"parent": "packaging"}, headers=staff
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == "packaging/test-child"
    paths = dict(
        (
            await db_session.execute(
                select(Category.slug, Category.path).where(Category.slug.like("test-%"))
            )
        ).all()
    )
    assert paths == {
        "test-root": "test-root",
        "test-child": "packaging/test-child",
        "test-grandchild": "packaging/test-child/test-grandchild",
    }
    tree = (await client.get("/api/v1/categories")).json()["items"]
    grand = find(tree, "test-grandchild")
    assert grand is not None
    assert grand["path"] == "packaging/test-child/test-grandchild"

    renamed = await client.patch(
        "/api/v1/admin/categories/test-child",
        json={"slug": "renamed-child", "name": "Renamed"},
        headers=staff,
    )
    assert renamed.json()["path"] == "packaging/renamed-child"
    detail = (await client.get("/api/v1/categories/test-grandchild")).json()
    assert detail["path"] == "packaging/renamed-child/test-grandchild"

    # Not below itself or a descendant.
    before = await snapshot(db_session)
    cycle = await client.patch(
        "/api/v1/admin/categories/renamed-child",
        json={"parent": "test-grandchild"},
        headers=staff,
    )
    assert_problem(cycle, 422)
    assert_problem(
        await client.patch(
            "/api/v1/admin/categories/renamed-child",
            json={"parent": "renamed-child"},
            headers=staff,
        ),
        422,
    )
    # A taken slug is 409; a category with children is 409 on delete.
    taken = await client.post(
        "/api/v1/admin/categories", json={"slug": "bolts", "name": "Bolts again"}, headers=staff
    )
    assert_problem(taken, 409)
    assert_problem(
        await client.delete("/api/v1/admin/categories/renamed-child", headers=staff), 409
    )
    assert await snapshot(db_session) == before

    assert (
        await client.delete("/api/v1/admin/categories/test-grandchild", headers=staff)
    ).status_code == 204
    assert (
        await client.delete("/api/v1/admin/categories/renamed-child", headers=staff)
    ).status_code == 204
    tree = (await client.get("/api/v1/categories")).json()["items"]
    assert find(tree, "renamed-child") is None
    assert_problem(await client.get("/api/v1/categories/renamed-child"), 404)


async def test_a_category_with_products_cannot_be_deleted(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    staff = catalog.headers["staff"]
    await client.post(
        "/api/v1/admin/categories", json={"slug": "holds-products", "name": "Holds"}, headers=staff
    )
    await create_product(client, catalog.headers["owner"], category="holds-products")
    response = await client.delete("/api/v1/admin/categories/holds-products", headers=staff)
    body = assert_problem(response, 409)
    assert body["type"] == "urn:marketplace:problem:category-in-use"


async def test_products_show_a_renamed_category_at_once(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    staff = catalog.headers["staff"]
    await client.post(
        "/api/v1/admin/categories", json={"slug": "old-name", "name": "Old"}, headers=staff
    )
    product = await create_product(client, catalog.headers["owner"], category="old-name")
    first = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert first["category"]["name"] == "Old"
    await client.patch(
        "/api/v1/admin/categories/old-name",
        json={"name": "New", "slug": "new-name", "parent": "tools"},
        headers=staff,
    )
    second = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert second["category"]["name"] == "New"
    assert second["category"]["path"] == "tools/new-name"


@pytest.mark.parametrize(
    "caller", ["anonymous", "owner", "admin", "sales", "buyer", "api_key", "outsider"]
)
async def test_only_staff_manage_categories(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, caller: str
) -> None:
    headers = catalog.headers[caller]
    expected = 401 if caller == "anonymous" else 403
    before = await snapshot(db_session)
    calls = [
        client.post(
            "/api/v1/admin/categories", json={"slug": "sneaky", "name": "S"}, headers=headers
        ),
        client.patch("/api/v1/admin/categories/bolts", json={"name": "Mine"}, headers=headers),
        client.delete("/api/v1/admin/categories/minerals", headers=headers),
    ]
    for call in calls:
        assert_problem(await call, expected)
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"slug": "Upper-Case", "name": "x"}, 422),
        ({"slug": "with space", "name": "x"}, 422),
        ({"slug": "ok-slug", "name": ""}, 422),
        # An unknown parent is invalid input naming its field, as a product's unknown
        # category is: 422, not the 404 of a path that names no category.
        ({"slug": "ok-slug", "name": "x", "parent": "missing-parent"}, 422),
        ({"slug": "ok-slug", "name": "x", "path": "forged/path"}, 422),
        ({"slug": "ok-slug", "name": "x", "position": -1}, 422),
    ],
)
async def test_invalid_categories_are_rejected(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    body: dict[str, Any],
    status: int,
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/admin/categories", json=body, headers=catalog.headers["staff"]
    )
    assert response.status_code == status, response.text
    assert await snapshot(db_session) == before


@pytest.mark.parametrize(
    ("body", "taken"),
    [
        # A root: its path and its slug are both taken (PostgreSQL reports the path).
        ({"slug": "industrial-supplies", "name": "Industrial supplies"}, "industrial-supplies"),
        ({"slug": "packaging", "name": "Again", "parent": "electrical"}, "packaging"),
        ({"slug": "bolts", "name": "Bolts", "parent": "fasteners"}, "bolts"),
    ],
)
async def test_a_taken_slug_is_a_conflict_wherever_it_would_go(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    body: dict[str, str],
    taken: str,
) -> None:
    before = await snapshot(db_session)
    response = await client.post(
        "/api/v1/admin/categories", json=body, headers=catalog.headers["staff"]
    )
    problem = assert_problem(response, 409)
    assert problem["type"] == "urn:marketplace:problem:duplicate-category-slug"
    assert taken in problem["detail"]
    assert await snapshot(db_session) == before


async def test_an_unknown_parent_is_a_field_problem_on_create_and_on_move(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    staff = catalog.headers["staff"]
    before = await snapshot(db_session)
    created = await client.post(
        "/api/v1/admin/categories",
        json={"slug": "orphan", "name": "Orphan", "parent": "no-such-parent"},
        headers=staff,
    )
    moved = await client.patch(
        "/api/v1/admin/categories/bolts", json={"parent": "no-such-parent"}, headers=staff
    )
    for response in (created, moved):
        problem = assert_problem(response, 422)
        assert problem["type"] == "urn:marketplace:problem:unknown-parent-category"
        assert [error["loc"] for error in problem["errors"]] == [["body", "parent"]]
    # The category the path names must still exist: that one stays a 404.
    assert_problem(
        await client.patch(
            "/api/v1/admin/categories/no-such-category", json={"name": "X"}, headers=staff
        ),
        404,
    )
    assert await snapshot(db_session) == before
