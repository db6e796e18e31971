"""Images cannot exhaust the API's memory: a pixel budget checked from the header before
anything is decoded, in every accepted format, and a bounded number of images decoded at
once per process."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.core.bounded_work import BoundedExecutor
from marketplace.core.errors import ServiceUnavailable
from marketplace.settings import Settings
from tests.catalog.conftest import Catalog, assert_problem, create_product, snapshot
from tests.catalog.test_images import upload
from tests.conftest import make_settings
from tests.factories import platform_of

DEFAULT_BUDGET = Settings.model_fields["max_image_pixels"].default
# What the peak memory of this process may grow by while a bomb is refused. Decoding the
# smallest bomb below would take 27 million pixels x 3 bytes, and more while resizing.
REFUSAL_MEMORY_BYTES = 40 * 1024 * 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Default image settings, or the overrides a test passes (indirect parametrize)."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return make_settings(database_url=database_url, storage_dir=tmp_path / "storage", **overrides)


@cache
def bomb(image_format: str) -> bytes:
    """A small file that declares many pixels: over the default budget, under the
    40 million pixels that were accepted before. The GIF is the one from the report."""
    size = (6300, 6300) if image_format == "GIF" else (5200, 5200)
    mode = {"GIF": "P", "PNG": "1"}.get(image_format, "L")
    options: dict[str, Any] = {"JPEG": {"quality": 1}, "WEBP": {"lossless": True, "method": 0}}
    buffer = io.BytesIO()
    Image.new(mode, size, 0).save(buffer, format=image_format, **options.get(image_format, {}))
    assert size[0] * size[1] > DEFAULT_BUDGET
    return buffer.getvalue()


def peak_memory_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


@pytest.mark.parametrize("image_format", ["GIF", "PNG", "JPEG", "WEBP"])
async def test_a_decompression_bomb_in_each_format_is_refused_before_decoding(
    client: httpx.AsyncClient, db_session: AsyncSession, catalog: Catalog, image_format: str
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    content = bomb(image_format)
    assert len(content) < 600_000
    before = await snapshot(db_session)

    reset_peak_memory()
    baseline = peak_memory_bytes()
    response = await upload(client, product["id"], owner, content)
    grown = peak_memory_bytes() - baseline

    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:marketplace:problem:image-too-many-pixels"
    assert f"{DEFAULT_BUDGET}" in problem["detail"]
    assert grown < REFUSAL_MEMORY_BYTES, f"peak memory grew by {grown / 2**20:.0f} MiB"
    assert await snapshot(db_session) == before


@pytest.mark.parametrize("settings", [{"max_image_pixels": 1_000_000}], indirect=True)
async def test_the_pixel_budget_is_a_setting(client: httpx.AsyncClient, catalog: Catalog) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    refused = await upload(client, product["id"], owner, picture((1001, 1000)))
    assert assert_problem(refused, 422)["type"] == "urn:marketplace:problem:image-too-many-pixels"
    accepted = await upload(client, product["id"], owner, picture((1000, 1000)))
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize(
    "settings", [{"image_workers": 1, "image_queue_seconds": 0.2}], indirect=True
)
async def test_uploads_wait_for_a_free_image_worker_and_give_up_with_503(
    app: FastAPI, client: httpx.AsyncClient, catalog: Catalog
) -> None:
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    release = threading.Event()
    busy = asyncio.create_task(platform_of(app).image_work.run(release.wait, 30))
    await asyncio.sleep(0.05)  # the only worker is taken
    try:
        refused = await upload(client, product["id"], owner, picture((64, 64)))
        assert assert_problem(refused, 503)["type"] == "urn:marketplace:problem:service-unavailable"
        assert refused.headers["retry-after"] == "5"
    finally:
        release.set()
        await busy
    accepted = await upload(client, product["id"], owner, picture((64, 64)))
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize(("orientation", "stored"), [(1, (4000, 3000)), (6, (3000, 4000))])
async def test_a_large_photo_keeps_its_size_and_orientation(
    client: httpx.AsyncClient, catalog: Catalog, orientation: int, stored: tuple[int, int]
) -> None:
    """Decoded at a reduced scale (JPEG) and resized step by step, a camera photo is
    still described by its own size, turned upright."""
    owner = catalog.headers["owner"]
    product = await create_product(client, owner)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 60, 30)).save(buffer, format="JPEG", exif=exif)
    response = await upload(client, product["id"], owner, buffer.getvalue())
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == stored
    for size, longest in (("thumb", 160), ("medium", 640), ("large", 1280)):
        served = await client.get(response.json()["urls"][size])
        image = Image.open(io.BytesIO(served.content))
        scale = longest / max(stored)
        assert image.size == (round(stored[0] * scale), round(stored[1] * scale))


async def test_no_more_image_jobs_run_at_once_than_there_are_workers() -> None:
    work = BoundedExecutor("test-image", workers=2, wait_seconds=5)
    running = 0
    most = 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1

    try:
        await asyncio.gather(*(work.run(job) for _ in range(8)))
    finally:
        work.close()
    assert most == 2


async def test_a_job_that_cannot_get_a_worker_in_time_is_refused() -> None:
    work = BoundedExecutor("test-image", workers=1, wait_seconds=0.1)
    release = threading.Event()
    try:
        busy = asyncio.create_task(work.run(release.wait, 10))
        await asyncio.sleep(0.02)
        with pytest.raises(ServiceUnavailable) as refused:
            await work.run(time.sleep, 0)
        assert refused.value.headers == {"Retry-After": "5"}
        release.set()
        assert await busy is True
        await work.run(time.sleep, 0)  # free again
    finally:
        release.set()
        work.close()


def picture(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()
