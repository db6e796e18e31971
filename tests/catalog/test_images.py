"""Product images: identified by their bytes, size-limited, resized, served with
caching headers; managed only by the supplier's catalog writers."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import images
from marketplace.catalog.errors import ImageInvalid, ImageTooManyPixels
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, assert_problem, create_product, snapshot
from tests.conftest import make_settings

MAX_IMAGE_BYTES = 300_000


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        max_image_bytes=MAX_IMAGE_BYTES,
    )


def picture(image_format: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    color: Any = {"RGBA": (200, 30, 30, 128), "L": 128}.get(mode, (30, 120, 200))
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    product_id: str,
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str = "photo.png",
    content_type: str = "image/png",
    alt_text: str | None = None,
) -> httpx.Response:
    data = {"alt_text": alt_text} if alt_text is not None else None
    return await client.post(
        f"/api/v1/products/{product_id}/images",
        files={"file": (filename, content, content_type)},
        data=data,
        headers=headers,
    )


async def test_png_and_jpeg_are_resized_and_served_with_caching_headers(
    client: httpx.AsyncClient, settings: Settings, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    png = await upload(
        client, product["id"], owner, picture("PNG", (2000, 1000), "RGBA"), alt_text="Front"
    )
    assert png.status_code == 201, png.text
    body = png.json()
    assert (body["width"], body["height"]) == (2000, 1000)
    assert body["content_type"] == "image/webp"
    assert body["alt_text"] == "Front"
    # The declared type and name do not matter: a JPEG sent as "x.png".
    jpeg = await upload(client, product["id"], owner, picture("JPEG", (300, 600)))
    assert jpeg.status_code == 201, jpeg.text
    assert jpeg.json()["position"] == 1

    detail = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert [image["id"] for image in detail["images"]] == [body["id"], jpeg.json()["id"]]
    urls = detail["images"][0]["urls"]
    for size, longest in (("thumb", 160), ("medium", 640), ("large", 1280)):
        response = await client.get(urls[size])
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["cache-control"] == "public, max-age=86400"
        served = Image.open(io.BytesIO(response.content))
        assert served.format == "WEBP"
        assert served.size == (longest, longest // 2)
        etag = response.headers["etag"]
        again = await client.get(urls[size], headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
    # Never enlarged: a 300x600 picture stays 300x600 in "large".
    large = await client.get(detail["images"][1]["urls"]["large"])
    assert Image.open(io.BytesIO(large.content)).size == (300, 600)
    stored = list((settings.storage_dir / "products" / product["id"]).rglob("*.webp"))
    assert len(stored) == 6


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"this is plain text, not a picture", "photo.png"),
        (b"%PDF-1.4 not an image", "photo.jpg"),
        (b"", "empty.png"),
        (picture("PNG", (50, 50))[:60], "truncated.png"),
        (picture("BMP", (20, 20)), "bitmap.png"),  # a real image, but not a web format
    ],
)
async def test_files_that_are_not_accepted_images_are_422(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    catalog: Catalog,
    content: bytes,
    filename: str,
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    before = await snapshot(db_session)
    response = await upload(
        client, product["id"], catalog.headers["owner"], content, filename=filename
    )
    body = assert_problem(response, 422)
    assert body["type"] == "urn:marketplace:problem:image-invalid"
    assert await snapshot(db_session) == before
    assert not (settings.storage_dir / "products").exists()


async def test_oversized_uploads_are_413(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    before = await snapshot(db_session)
    # Just above the image limit: refused by the service.
    response = await upload(
        client, product["id"], catalog.headers["owner"], b"\x89PNG" + b"0" * MAX_IMAGE_BYTES
    )
    assert_problem(response, 413)
    # Far above it: refused by the body limit before it is read.
    response = await upload(
        client, product["id"], catalog.headers["owner"], b"0" * (MAX_IMAGE_BYTES * 3)
    )
    assert_problem(response, 413)
    assert await snapshot(db_session) == before


def test_decompression_bombs_are_refused_before_decoding() -> None:
    # 20,000 x 20,000 pixels compress to a few hundred kilobytes.
    bomb = picture("PNG", (20_000, 20_000), "L")
    assert len(bomb) < MAX_IMAGE_BYTES * 4
    with pytest.raises(ImageTooManyPixels):
        images.render(bomb)
    with pytest.raises(ImageTooManyPixels):
        images.render(picture("PNG", (200, 200)), max_pixels=100 * 100)
    with pytest.raises(ImageInvalid):
        images.render(b"GIF89a garbage")


async def test_deleting_an_image_removes_it_and_its_files(
    client: httpx.AsyncClient, settings: Settings, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    image = (await upload(client, product["id"], owner, picture("PNG", (400, 400)))).json()
    url = image["urls"]["thumb"]
    assert (await client.get(url)).status_code == 200
    response = await client.delete(
        f"/api/v1/products/{product['id']}/images/{image['id']}", headers=owner
    )
    assert response.status_code == 204
    assert_problem(await client.get(url), 404)
    detail = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert detail["images"] == []
    assert not list((settings.storage_dir / "products" / product["id"]).rglob("*.webp"))


async def test_images_of_hidden_products_are_served_only_to_their_supplier(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner, status="draft")
    image = (await upload(client, product["id"], owner, picture("PNG", (100, 100)))).json()
    url = image["urls"]["medium"]
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers=catalog.headers["outsider"]), 404)
    own = await client.get(url, headers=owner)
    assert own.status_code == 200
    assert own.headers["cache-control"].startswith("private")
    assert (await client.get(url, headers=catalog.headers["staff"])).status_code == 200
    assert_problem(await client.get(url.replace("/medium", "/huge"), headers=owner), 404)


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("anonymous", 401),
        ("outsider", 404),
        ("other_api_key", 404),
        ("purchaser", 403),
        ("viewer", 403),
        ("api_key_read_only", 403),
        ("staff", 400),  # staff belong to no company: they name none
        ("owner", 201),
        ("admin", 201),
        ("sales", 201),
        ("api_key", 201),
    ],
)
async def test_image_upload_matrix(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    caller: str,
    expected: int,
) -> None:
    product = await create_product(client, catalog.headers["owner"])
    existing = (
        await upload(client, product["id"], catalog.headers["owner"], picture("PNG", (64, 64)))
    ).json()
    before = await snapshot(db_session)
    headers = catalog.headers[caller]
    response = await upload(client, product["id"], headers, picture("PNG", (64, 64)))
    assert response.status_code == expected, response.text
    deleted = await client.delete(
        f"/api/v1/products/{product['id']}/images/{existing['id']}", headers=headers
    )
    assert deleted.status_code == (204 if expected == 201 else expected)
    if expected != 201:
        assert await snapshot(db_session) == before
