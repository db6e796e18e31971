"""A forged or truncated cursor is a 400 on trade lists, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.core.test_pagination import FORGED
from tests.trade.conftest import Market


@pytest.mark.parametrize("cursor", FORGED)
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/rfqs?role=buyer", "/api/v1/threads"])
async def test_lists_answer_a_forged_cursor_with_400(
    client: httpx.AsyncClient, market: Market, path: str, cursor: str
) -> None:
    separator = "&" if "?" in path else "?"
    response = await client.get(
        f"{path}{separator}cursor={cursor}", headers=market.headers["owner"]
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("invalid-cursor")
