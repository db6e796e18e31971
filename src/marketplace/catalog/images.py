"""Product images: checked by their bytes, resized to standard sizes, stored through
`platform.storage`, served with long-lived caching headers.

The declared content type and file name are ignored: Pillow identifies the format
from the bytes, and only JPEG, PNG, WebP and GIF are accepted. The pixel count is
checked from the header against MAX_IMAGE_PIXELS before anything is decoded
(decompression bombs: a 29 KiB GIF can declare 40 million pixels). Decoding and
resizing take CPU and memory: they run in the platform's few image threads
(IMAGE_WORKERS), never on the event loop, and decode no more than they must (JPEG at a
reduced scale, each size made from the one above it, no full-size copies). Each size is
stored as WebP under `products/<product>/images/<image>/<size>.webp`; stored files
never change, so their ETag is their name.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.catalog import caching, events, repository
from marketplace.catalog.errors import (
    ImageInvalid,
    ImageNotFound,
    ImageTooLarge,
    ImageTooManyPixels,
    ProductNotFound,
    TooManyImages,
)
from marketplace.catalog.models import ProductImage
from marketplace.catalog.schemas import ImageRead
from marketplace.catalog.service import image_read, sees_private
from marketplace.core.access import Viewer
from marketplace.core.bounded_work import BoundedExecutor
from marketplace.core.cache import Cache
from marketplace.core.events import emit
from marketplace.core.storage import Storage, removed_on_failure
from marketplace.settings import Settings

if TYPE_CHECKING:
    from PIL import Image

# Longest side of each standard size, in pixels (never enlarged).
SIZES: Final = {"thumb": 160, "medium": 640, "large": 1280}
ACCEPTED_FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
DEFAULT_MAX_PIXELS: Final[int] = Settings.model_fields["max_image_pixels"].default
# Modes that resize well as they are: smaller copies are made first and converted after.
# Others (palette, 1-bit, 16-bit) are converted first: palette images resize by nearest
# neighbour only.
RESIZED_AS_THEY_ARE: Final = frozenset({"RGB", "RGBA", "L", "LA"})
# EXIF orientations that turn the picture by 90 degrees (width and height swap).
QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})
MAX_IMAGES_PER_PRODUCT: Final = 10
STORED_CONTENT_TYPE: Final = "image/webp"
STORED_EXTENSION: Final = "webp"
WEBP_QUALITY: Final = 82
# Multipart framing and the alt-text field around the file itself.
MULTIPART_ENVELOPE_BYTES: Final = 64 * 1024
PUBLIC_MAX_AGE_SECONDS: Final = 86_400
PRIVATE_MAX_AGE_SECONDS: Final = 300


@dataclass(frozen=True)
class Rendered:
    width: int
    height: int
    sizes: dict[str, bytes]


def render(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Rendered:
    """Identify, check and resize an uploaded image (blocking: run it in the platform's
    image threads). Refuses more than `max_pixels` from the header, before decoding."""
    # Pillow is imported by the first upload, not at start: most API workers never
    # resize an image, and importing it costs every one of them 2.5 MB of RSS.
    from PIL import ExifTags, Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise ImageInvalid()
                width, height = probe.size
                if width * height > max_pixels:
                    raise ImageTooManyPixels(limit=max_pixels)
                probe.verify()  # structure and checksums, without decoding pixels
            with Image.open(io.BytesIO(data)) as opened:
                if opened.getexif().get(ExifTags.Base.Orientation) in QUARTER_TURNS:
                    width, height = height, width
                largest = max(SIZES.values())
                # JPEG only: decode at 1/2, 1/4 or 1/8 scale while still above the largest size.
                opened.draft(None, (largest, largest))
                opened.load()
                return Rendered(width=width, height=height, sizes=_sizes(opened))
        except (ImageInvalid, ImageTooManyPixels):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageTooManyPixels(limit=max_pixels) from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageInvalid() from error


def _sizes(opened: Image.Image) -> dict[str, bytes]:
    """Each standard size as WebP, largest first, each made from the one before: the
    decoded image is never copied at full size (beyond turning it upright)."""
    from PIL import Image, ImageOps

    # In place: without it, an image that needs no turning is copied whole.
    ImageOps.exif_transpose(opened, in_place=True)
    image = opened
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    stored_mode = "RGBA" if has_alpha else "RGB"
    if image.mode not in RESIZED_AS_THEY_ARE:
        image = image.convert(stored_mode)
    sizes: dict[str, bytes] = {}
    for name, longest_side in sorted(SIZES.items(), key=lambda size: -size[1]):
        image.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert(stored_mode).save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        sizes[name] = buffer.getvalue()
    return {name: sizes[name] for name in SIZES}


def _key(prefix: str, size: str) -> str:
    return f"{prefix}/{size}.{STORED_EXTENSION}"


async def upload(
    session: AsyncSession,
    cache: Cache,
    storage: Storage,
    supplier_id: uuid.UUID,
    product_id: uuid.UUID,
    data: bytes,
    *,
    work: BoundedExecutor,
    max_bytes: int,
    max_pixels: int,
    alt_text: str,
) -> ImageRead:
    """Add an image to one of your products (at most `MAX_IMAGES_PER_PRODUCT`)."""
    if len(data) > max_bytes:
        raise ImageTooLarge(limit=max_bytes)
    product = await repository.supplier_product(session, supplier_id, product_id, lock=True)
    if product is None:
        raise ProductNotFound()
    count = await repository.count_images(session, product.id)
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise TooManyImages(limit=MAX_IMAGES_PER_PRODUCT)
    rendered = await work.run(render, data, max_pixels)
    image_id = uuid.uuid4()
    prefix = f"products/{product.id}/images/{image_id}"
    # No row, no files: the files go again if storing them or writing the row fails.
    async with removed_on_failure(storage, prefix):
        for size, content in rendered.sizes.items():
            await storage.put(_key(prefix, size), content)
        image = ProductImage(
            id=image_id,
            product_id=product.id,
            position=count,
            storage_key=prefix,
            content_type=STORED_CONTENT_TYPE,
            width=rendered.width,
            height=rendered.height,
            alt_text=alt_text,
        )
        await repository.add(session, image, refresh=True)
        await emit(
            session,
            events.ProductImageAdded(
                product_id=product.id,
                supplier_id=supplier_id,
                sku=product.sku,
                image_id=image.id,
                position=image.position,
                alt_text=image.alt_text,
                content_type=image.content_type,
                width=image.width,
                height=image.height,
            ),
        )
        await caching.invalidate_products(session, cache, [product.id])
    return image_read(image)


# Files stored at once when pictures are added in bulk: many small files, concurrently.
_FILES_AT_ONCE: Final = 64
# What a product's picture is, from its name and category slug: the rendered image
# (`render`) and its alt text.
Picture = Callable[[str, str], Awaitable[tuple[Rendered, str]]]


async def add_missing_pictures(
    session: AsyncSession, storage: Storage, supplier_id: uuid.UUID, picture: Picture
) -> int:
    """One image, from `picture`, for each of the supplier's products filed under a
    category that has none; return how many were added. For loading data sets: the
    rows are inserted in bulk and nothing is announced (the products are new)."""
    rows = await repository.products_without_images(session, supplier_id)
    image_rows: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    for product_id, name, slug in rows:
        rendered, alt_text = await picture(name, slug)
        image_id = uuid.uuid4()
        prefix = f"products/{product_id}/images/{image_id}"
        files.extend((_key(prefix, size), content) for size, content in rendered.sizes.items())
        image_rows.append(
            {
                "id": image_id,
                "product_id": product_id,
                "position": 0,
                "storage_key": prefix,
                "content_type": STORED_CONTENT_TYPE,
                "width": rendered.width,
                "height": rendered.height,
                "alt_text": alt_text,
            }
        )
    for start in range(0, len(files), _FILES_AT_ONCE):
        await asyncio.gather(
            *(storage.put(key, content) for key, content in files[start : start + _FILES_AT_ONCE])
        )
    await repository.insert_images(session, image_rows)
    return len(image_rows)


async def delete(
    session: AsyncSession,
    cache: Cache,
    supplier_id: uuid.UUID,
    product_id: uuid.UUID,
    image_id: uuid.UUID,
) -> str:
    """Delete the image's row. Returns the storage prefix of its files, for the caller
    to delete once the transaction has committed: a transaction that fails keeps the
    row, and it must keep its files too."""
    product = await repository.supplier_product(session, supplier_id, product_id, lock=True)
    if product is None:
        raise ProductNotFound()
    image = await repository.image_of(session, product.id, image_id)
    if image is None:
        raise ImageNotFound()
    await repository.remove(session, image)
    await emit(
        session,
        events.ProductImageRemoved(
            product_id=product.id,
            supplier_id=supplier_id,
            sku=product.sku,
            image_id=image.id,
            position=image.position,
        ),
    )
    await caching.invalidate_products(session, cache, [product.id])
    return image.storage_key


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@dataclass(frozen=True)
class ServedImage:
    content: bytes | None  # None: the client's copy is current (304)
    etag: str
    cache_control: str


async def serve(
    session: AsyncSession,
    storage: Storage,
    viewer: Viewer,
    product_id: uuid.UUID,
    image_id: uuid.UUID,
    size: str,
    if_none_match: str | None,
) -> ServedImage:
    """An image of a product the viewer may see (the detail's rules), with its ETag."""
    if size not in SIZES:
        raise ImageNotFound()
    row = await repository.product_row(session, product_id, viewer)
    if row is None:
        raise ImageNotFound()
    public = row.is_visible
    if not public and not sees_private(viewer, row.product.supplier_id):
        raise ImageNotFound()
    image = await repository.image_of(session, product_id, image_id)
    if image is None:
        raise ImageNotFound()
    etag = f'"{image.id}-{size}"'
    cache_control = (
        f"public, max-age={PUBLIC_MAX_AGE_SECONDS}"
        if public
        else f"private, max-age={PRIVATE_MAX_AGE_SECONDS}"
    )
    if if_none_match is not None and _matches(if_none_match, etag):
        return ServedImage(content=None, etag=etag, cache_control=cache_control)
    content = await storage.get(_key(image.storage_key, size))
    if content is None:
        raise ImageNotFound()
    return ServedImage(content=content, etag=etag, cache_control=cache_control)
