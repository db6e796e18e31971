"""The upload folder full or unwritable (a drill on a small tmpfs of this test's own,
mounted over STORAGE_DIR): an image upload gets a clear 507 (no room) or 503 (cannot
write) problem, leaves no file and no row behind, and the next upload after the folder
recovers succeeds."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog.models import ProductImage
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, assert_problem, create_product
from tests.catalog.test_images import upload
from tests.conftest import IN_CI, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url=database_url, storage_dir=tmp_path / "storage")


def mount(folder: Path, options: str) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        check=True,
        capture_output=True,
        timeout=10,
    )


@pytest.fixture
def small_volume(settings: Settings) -> Iterator[Path]:
    """STORAGE_DIR on a 64 KiB tmpfs (mounting needs root, as a drill on a server does)."""
    folder = settings.storage_dir
    folder.mkdir(parents=True)
    try:
        mount(folder, "size=64k")
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as error:
        if IN_CI:
            raise
        pytest.skip(f"cannot mount a tmpfs here: {error}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False, timeout=10)


def noise(side: int) -> bytes:
    """A PNG that no encoder can shrink much: random pixels."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def image_rows(session: AsyncSession, product_id: str) -> int:
    query = select(func.count()).where(ProductImage.product_id == product_id)
    return int(await session.scalar(query) or 0)


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


async def test_a_full_or_unwritable_upload_folder_is_a_clear_problem_and_leaves_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    catalog: Catalog,
    small_volume: Path,
) -> None:
    owner = catalog.headers["sales"]
    product = await create_product(client, owner, sku="FULL-DISK")

    full = await upload(client, product["id"], owner, noise(400))
    assert assert_problem(full, 507)["type"].endswith(":storage-full")
    assert files_under(small_volume) == []
    assert await image_rows(db_session, product["id"]) == 0

    mount(small_volume, "remount,ro")
    unwritable = await upload(client, product["id"], owner, noise(40))
    assert assert_problem(unwritable, 503)["type"].endswith(":storage-unavailable")
    assert unwritable.headers["retry-after"] == "30"
    assert await image_rows(db_session, product["id"]) == 0

    # The operator makes room: the same process stores the next upload.
    mount(small_volume, "remount,rw,size=8m")
    stored = await upload(client, product["id"], owner, noise(40))
    assert stored.status_code == 201, stored.text
    assert files_under(small_volume)
    assert await image_rows(db_session, product["id"]) == 1
