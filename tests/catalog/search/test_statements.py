"""An anonymous search's statements on the real session dependencies (no test
transaction): the words' corrections and the page, outside a transaction (no BEGIN, no
COMMIT), and no planner setting (`test_planning`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marketplace.settings import Settings
from tests.conftest import client_for, started_app
from tests.core.test_read_only_session import on, transactions, wire


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    # No relay and no jobs: their statements share the pool. No result cache.
    return shared_settings.model_copy(
        update={"outbox_relay_enabled": False, "catalog_search_cache_ttl_seconds": 0}
    )


@pytest.fixture
async def real_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real session dependencies (no test transaction)."""
    async for app in started_app(settings):
        async with client_for(app) as client:
            yield app, client


def of_the_request(sent: list[tuple[int, str]], backend: int) -> list[str]:
    """The statements on the request's connection, without asyncpg's own learning of a
    result type it has not met on that connection (once per connection)."""
    return [
        statement
        for statement in on(sent, backend)
        if "typeinfo" not in statement and "current_setting('jit')" not in statement
    ]


def unseen_word() -> str:
    """Letters no cache has an entry for (digits would make it a part number)."""
    return "".join(chr(ord("a") + int(digit, 16)) for digit in uuid.uuid4().hex[:10])


async def test_an_anonymous_text_search_sends_its_two_statements_outside_a_transaction(
    real_app: Any,
) -> None:
    app, client = real_app
    # The first search on a connection has the driver learn the result types.
    assert (await client.get("/api/v1/products", params={"q": unseen_word()})).status_code == 200
    async with wire(app) as sent:
        response = await client.get("/api/v1/products", params={"q": f"flange {unseen_word()}"})
    assert response.status_code == 200, response.text
    pages = [(pid, statement) for pid, statement in sent if "FROM products" in statement]
    assert len(pages) == 1, sent
    request = of_the_request(sent, pages[0][0])
    assert sum("catalog_search_term_deletions" in statement for statement in request) == 1
    assert not any("set_config" in statement for statement in request), request
    assert transactions(request) == (0, 0), request


async def test_anonymous_facets_send_their_statements_outside_a_transaction(
    real_app: Any,
) -> None:
    app, client = real_app
    await client.get("/api/v1/products/facets", params={"q": unseen_word()})
    async with wire(app) as sent:
        response = await client.get("/api/v1/products/facets", params={"q": unseen_word()})
    assert response.status_code == 200, response.text
    facets = [(pid, statement) for pid, statement in sent if "GROUPING SETS" in statement]
    assert len(facets) == 1, sent
    request = of_the_request(sent, facets[0][0])
    assert not any("set_config" in statement for statement in request), request
    assert transactions(request) == (0, 0), request
