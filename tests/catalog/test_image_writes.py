"""Image writes are events for the supplier (`product.image_added`/`_removed`), in the
transaction of the change; and an upload whose row is never written leaves no file."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import images
from marketplace.core.outbox import OutboxEvent
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, assert_problem, create_product
from tests.catalog.test_images import picture, upload
from tests.conftest import make_settings
from tests.factories import platform_of

# A real error raised by the database on the image row's insert, after the upload has
# stored its files. Installed in the test's transaction (requests run in savepoints of
# it), so it can never outlive the test.
FAIL_IMAGE_INSERT = (
    """CREATE FUNCTION test_fail_image_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'injected failure on the image row';
    END $$""",
    """CREATE TRIGGER test_fail_image_insert BEFORE INSERT ON product_images
        FOR EACH ROW EXECUTE FUNCTION test_fail_image_insert()""",
)
REMOVE_TRIGGER = (
    "DROP TRIGGER test_fail_image_insert ON product_images",
    "DROP FUNCTION test_fail_image_insert()",
)


async def execute_all(session: AsyncSession, statements: tuple[str, ...]) -> None:
    for statement in statements:
        await session.execute(text(statement))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url=database_url, storage_dir=tmp_path / "storage")


async def outbox_mark(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(OutboxEvent.seq), 0))) or 0)


async def events_since(session: AsyncSession, mark: int) -> list[OutboxEvent]:
    rows = await session.execute(
        select(OutboxEvent).where(OutboxEvent.seq > mark).order_by(OutboxEvent.seq)
    )
    return list(rows.scalars())


def stored_files(settings: Settings, product_id: str) -> list[Path]:
    return sorted((settings.storage_dir / "products" / product_id).rglob("*"))


async def test_adding_and_removing_an_image_are_events_for_the_supplier(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["sales"]
    product = await create_product(client, owner, sku="IMG-EVT")
    mark = await outbox_mark(db_session)

    response = await upload(
        client, product["id"], owner, picture("PNG", (300, 200)), alt_text="Top"
    )
    assert response.status_code == 201, response.text
    image = response.json()
    deleted = await client.delete(
        f"/api/v1/products/{product['id']}/images/{image['id']}", headers=owner
    )
    assert deleted.status_code == 204, deleted.text

    added, removed = await events_since(db_session, mark)
    for event in (added, removed):
        assert event.aggregate_type == "product"
        assert event.aggregate_id == uuid.UUID(product["id"])
        assert list(event.company_ids) == [catalog.supplier_id]
        assert event.actor_user_id is not None
    assert added.type == "product.image_added"
    assert added.payload == {
        "product_id": product["id"],
        "supplier_id": str(catalog.supplier_id),
        "sku": "IMG-EVT",
        "image_id": image["id"],
        "position": 0,
        "alt_text": "Top",
        "content_type": "image/webp",
        "width": 300,
        "height": 200,
    }
    assert removed.type == "product.image_removed"
    assert removed.payload == {
        "product_id": product["id"],
        "supplier_id": str(catalog.supplier_id),
        "sku": "IMG-EVT",
        "image_id": image["id"],
        "position": 0,
    }


async def test_refused_image_writes_record_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    image = (await upload(client, product["id"], owner, picture("PNG", (64, 64)))).json()
    mark = await outbox_mark(db_session)

    assert_problem(await upload(client, product["id"], owner, b"not an image"), 422)
    outsider = catalog.headers["outsider"]
    assert_problem(await upload(client, product["id"], outsider, picture("PNG", (64, 64))), 404)
    image_url = f"/api/v1/products/{product['id']}/images/{image['id']}"
    assert_problem(await client.delete(image_url, headers=outsider), 404)
    missing = f"/api/v1/products/{product['id']}/images/{uuid.uuid4()}"
    assert_problem(await client.delete(missing, headers=owner), 404)

    assert await events_since(db_session, mark) == []


async def test_an_upload_whose_row_fails_leaves_no_file(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, settings: Settings
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    kept = (await upload(client, product["id"], owner, picture("PNG", (64, 64)))).json()
    files_before = stored_files(settings, product["id"])
    assert len(files_before) > 0
    mark = await outbox_mark(db_session)
    await execute_all(db_session, FAIL_IMAGE_INSERT)
    try:
        response = await upload(client, product["id"], owner, picture("PNG", (800, 600)))

        assert_problem(response, 500)
        assert "injected failure" not in response.text
        # The files were stored before the insert failed, and are gone again; the
        # product's other image is untouched.
        assert stored_files(settings, product["id"]) == files_before
        count = "SELECT count(*) FROM product_images WHERE product_id = :product"
        assert (await db_session.execute(text(count), {"product": product["id"]})).scalar() == 1
        assert await events_since(db_session, mark) == []
    finally:
        await execute_all(db_session, REMOVE_TRIGGER)

    # Once the fault is gone the same upload succeeds, its files in place.
    response = await upload(client, product["id"], owner, picture("PNG", (800, 600)))
    assert response.status_code == 201, response.text
    assert response.json()["position"] == 1
    detail = (await client.get(f"/api/v1/products/{product['id']}", headers=owner)).json()
    assert [image["id"] for image in detail["images"]] == [kept["id"], response.json()["id"]]
    assert len(stored_files(settings, product["id"])) > len(files_before)


async def test_deleting_an_image_leaves_its_files_until_the_transaction_commits(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    settings: Settings,
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    image = (await upload(client, product["id"], owner, picture("PNG", (64, 64)))).json()
    files = stored_files(settings, product["id"])
    assert files

    # The deletion's transaction fails after the service ran: nothing may be gone.
    savepoint = await db_session.begin_nested()
    prefix = await images.delete(
        db_session,
        platform_of(app).cache,
        catalog.supplier_id,
        uuid.UUID(product["id"]),
        uuid.UUID(image["id"]),
    )
    assert stored_files(settings, product["id"]) == files
    await savepoint.rollback()

    assert prefix.startswith(f"products/{product['id']}/")
    assert stored_files(settings, product["id"]) == files
    assert (await client.get(image["urls"]["thumb"])).status_code == 200
