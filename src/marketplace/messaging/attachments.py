"""Files attached to messages: checked by name and bytes, stored through
`platform.storage`, downloaded only by the thread's participants.

The declared content type is ignored. A file's extension names its type, and its
bytes must match that type (PDF, PNG, JPEG, GIF, WebP signatures; ZIP for XLSX and
DOCX; UTF-8 without NUL bytes for text and CSV): an executable renamed `.pdf` is
refused. Downloads are always `Content-Disposition: attachment` with `nosniff`, so
a browser never renders an uploaded file as a page. Files are stored under
`threads/<thread>/<message>/<attachment>`; the original name lives only in the row.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from marketplace.messaging.errors import (
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    EmptyAttachment,
    TooManyAttachments,
)

MAX_ATTACHMENTS: Final = 5
MAX_FILENAME_CHARS: Final = 200
# Multipart framing and the text field around the files.
MULTIPART_ENVELOPE_BYTES: Final = 128 * 1024


def _text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda data: any(data.startswith(signature) for signature in signatures)


def _webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# extension -> (content type, check of the bytes)
ACCEPTED: Final[dict[str, tuple[str, Callable[[bytes], bool]]]] = {
    "pdf": ("application/pdf", _starts(b"%PDF-")),
    "png": ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "gif": ("image/gif", _starts(b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", _webp),
    "txt": ("text/plain; charset=utf-8", _text),
    "csv": ("text/csv; charset=utf-8", _text),
    "xlsx": (XLSX, _starts(b"PK\x03\x04")),
    "docx": (DOCX, _starts(b"PK\x03\x04")),
}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    id: uuid.UUID
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def clean_filename(raw: str) -> str:
    """The last path segment, without control characters, at most 200 characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        name = stem[: MAX_FILENAME_CHARS - len(extension) - 1] + dot + extension
    return name.strip(" .") or "attachment"


def check(uploads: list[Upload], *, max_bytes: int) -> list[CheckedFile]:
    """Every upload accepted, or the first problem raised (nothing stored yet)."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise TooManyAttachments(limit=MAX_ATTACHMENTS)
    checked = []
    for index, upload in enumerate(uploads):
        where = [{"loc": ["body", "files", index], "msg": upload.filename, "type": "file"}]
        if len(upload.data) > max_bytes:
            raise AttachmentTooLarge(limit=max_bytes, errors=where)
        if not upload.data:
            raise EmptyAttachment(errors=where)
        filename = clean_filename(upload.filename)
        extension = filename.rpartition(".")[2].lower() if "." in filename else ""
        accepted = ACCEPTED.get(extension)
        if accepted is None or not accepted[1](upload.data):
            raise AttachmentTypeNotAllowed(errors=where)
        checked.append(CheckedFile(uuid.uuid4(), filename, accepted[0], upload.data))
    return checked


def message_prefix(thread_id: uuid.UUID, message_id: uuid.UUID) -> str:
    return f"threads/{thread_id}/{message_id}"


def storage_key(thread_id: uuid.UUID, message_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"{message_prefix(thread_id, message_id)}/{attachment_id}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    fallback = (
        unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "attachment"
    )
    fallback = fallback.replace('"', "").replace("\\", "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
