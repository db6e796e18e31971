"""A message whose row fails after its files were stored leaves no file behind (the
shared `core.storage.removed_on_failure`, as for product images)."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.settings import Settings
from tests.catalog.conftest import assert_problem
from tests.messaging.conftest import PDF, PNG, Deals, counts, stored_files
from tests.messaging.test_threads import order_thread

# Installed in the test's transaction (requests run in savepoints of it).
FAIL_MESSAGE_INSERT = (
    """CREATE FUNCTION test_fail_message_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'injected failure on the message row';
    END $$""",
    """CREATE TRIGGER test_fail_message_insert BEFORE INSERT ON messages
        FOR EACH ROW EXECUTE FUNCTION test_fail_message_insert()""",
)
REMOVE_TRIGGER = (
    "DROP TRIGGER test_fail_message_insert ON messages",
    "DROP FUNCTION test_fail_message_insert()",
)


async def execute_all(session: AsyncSession, statements: tuple[str, ...]) -> None:
    for statement in statements:
        await session.execute(text(statement))


async def test_a_message_whose_row_fails_leaves_no_file(
    client: httpx.AsyncClient, deals: Deals, db_session: AsyncSession, settings: Settings
) -> None:
    thread = await order_thread(client, deals)
    url = f"/api/v1/threads/{thread['id']}/messages"
    files = [
        ("files", ("drawing.pdf", PDF, "application/pdf")),
        ("files", ("photo.png", PNG, "image/png")),
    ]
    headers = deals.headers("purchaser")
    before = await counts(db_session)
    files_before = stored_files(settings)
    await execute_all(db_session, FAIL_MESSAGE_INSERT)
    try:
        response = await client.post(url, data={"body": "See"}, files=files, headers=headers)

        assert_problem(response, 500)
        assert "injected failure" not in response.text
        assert stored_files(settings) == files_before
        assert await counts(db_session) == before
    finally:
        await execute_all(db_session, REMOVE_TRIGGER)

    response = await client.post(url, data={"body": "See"}, files=files, headers=headers)
    assert response.status_code == 201, response.text
    assert len(stored_files(settings)) == len(files_before) + 2
