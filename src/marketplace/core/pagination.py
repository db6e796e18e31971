"""Keyset pagination: `?limit=&cursor=` in, `{"items", "next_cursor"}` out.

A cursor is the opaque, URL-safe encoding of the sort key of the last item served.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from marketplace.core.errors import BadRequest
from marketplace.core.i18n import _
from marketplace.core.text import Text

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class InvalidCursor(BadRequest):
    code = "invalid-cursor"
    message = _("The cursor is invalid; start again from the first page.")


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values), default=str)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as error:
        raise InvalidCursor() from error
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidCursor()
    return values


# The sort key of most lists: a timestamp and the row id that breaks its ties.
TimeKeyset = tuple[datetime, uuid.UUID]


def decode_time_keyset(cursor: str | None) -> TimeKeyset | None:
    """The (timestamp, id) of a cursor, or None for the first page; anything else that
    decodes (a forged or truncated cursor) is the same 400 as an undecodable one."""
    if cursor is None:
        return None
    at, row_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (TypeError, ValueError) as error:
        raise InvalidCursor() from error


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    Text | None, Query(max_length=500, description="`next_cursor` of the page before.")
]
