"""Binary object storage (images, uploaded files) behind one small interface.

`LocalStorage` keeps objects under a directory (the default); an S3-style backend
plugs in by implementing `Storage`. Keys are relative paths of safe characters.
File I/O runs in a thread so that it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from marketplace.core.errors import DomainError
from marketplace.core.i18n import _
from marketplace.core.logging import get_logger

logger = get_logger(__name__)

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,250}$")


class InvalidStorageKey(ValueError):
    pass


class StorageFull(DomainError):
    """The storage volume has no room (or the quota is spent): 507, nothing stored."""

    status_code = 507
    code = "storage-full"
    title = _("Insufficient storage")
    message = _("The server has no room to store the file. Try again later.")


class StorageUnwritable(DomainError):
    """The storage folder cannot be written (read-only, permissions, gone): 503."""

    status_code = 503
    code = "storage-unavailable"
    title = _("Service unavailable")
    message = _("Files cannot be stored right now. Try again later.")


_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete_prefix(self, prefix: str) -> None: ...

    def local_path(self, key: str) -> Path | None: ...


@asynccontextmanager
async def removed_on_failure(storage: Storage, prefix: str) -> AsyncIterator[None]:
    """Store files under a fresh `prefix` and write the rows that reach them inside
    this block: should anything in it raise (a failed insert, a cancelled request),
    every file under `prefix` is deleted again, so no file outlives a row that was
    never written. Nothing else may live under `prefix`.

    A failure of the commit after the block cannot be caught here; such files are
    unreachable all the same, since every read goes through the row."""
    try:
        yield
    except BaseException:
        await storage.delete_prefix(prefix)
        raise


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key) or ".." in key.split("/"):
            raise InvalidStorageKey(key)
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise InvalidStorageKey(key)
        return path

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)

        temporary = path.with_name(path.name + ".part")

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            temporary.replace(path)  # readers never see half a file

        try:
            await asyncio.to_thread(write)
        except OSError as error:
            # No half-written file stays behind; callers remove what they stored before
            # (`removed_on_failure`), so the failed upload leaves nothing.
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            logger.error("storage.write_failed", key=key, error=repr(error))
            if error.errno in _NO_ROOM:
                raise StorageFull() from error
            raise StorageUnwritable(headers={"Retry-After": "30"}) from error

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)

        def read() -> bytes | None:
            return path.read_bytes() if path.is_file() else None

        return await asyncio.to_thread(read)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))

        def remove() -> None:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.is_file():
                path.unlink()

        await asyncio.to_thread(remove)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None
