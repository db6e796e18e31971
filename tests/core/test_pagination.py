"""Time keyset cursors: what decodes to anything but a timestamp and an id is invalid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from marketplace.core.pagination import (
    InvalidCursor,
    decode_time_keyset,
    encode_cursor,
)

# Fixed values: the parameter ids must be the same in every xdist worker.
SOME_ID = "6a1f0c3e-2b7d-4e59-9a51-3c8d2f7b1e04"
SOME_TIME = "2026-11-26T03:00:00+00:00"
FORGED = [
    encode_cursor("not a time", SOME_ID),
    encode_cursor(SOME_TIME, "not an id"),
    encode_cursor(12, 34),
    encode_cursor(None, None),
    encode_cursor("only one value"),
    "%%%not-base64",
]


def test_a_time_keyset_round_trips() -> None:
    at, row_id = datetime.now(UTC), uuid.uuid4()
    assert decode_time_keyset(encode_cursor(at.isoformat(), str(row_id))) == (at, row_id)
    assert decode_time_keyset(None) is None


@pytest.mark.parametrize("cursor", FORGED)
def test_a_forged_time_keyset_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_time_keyset(cursor)
