"""`/api/v1/ws` against a real server: authentication, tenant isolation, notifications,
resume after reconnect, heartbeats, slow clients."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, ClassVar

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from marketplace.companies.models import Company
from marketplace.core.bus import bus_for, user_channel
from marketplace.core.events import DomainEvent, emit
from marketplace.identity import service as identity
from marketplace.identity.models import User
from marketplace.realtime import router as realtime_router
from tests.notifications.conftest import World
from tests.realtime.conftest import (
    LiveServer,
    ServerFactory,
    close_code,
    gather_messages,
    next_of,
    open_socket,
    quiet_for,
    receive,
)


class PlatformNoticed(DomainEvent):
    """A test event that belongs to no company (staff only)."""

    type: ClassVar[str] = "test.platform_noticed"
    aggregate_type: ClassVar[str] = "test"
    subject_id: uuid.UUID

    def aggregate_id(self) -> uuid.UUID:
        return self.subject_id

    def company_ids(self) -> list[uuid.UUID]:
        return []


async def create_api_key(
    server: LiveServer, world: World, owner: User, company: Company, name: str = "ci"
) -> dict[str, Any]:
    token = await world.access_token(owner)
    async with server.http() as http:
        response = await http.post(
            f"/api/v1/companies/{company.id}/api-keys",
            json={"name": name, "scopes": ["catalog:read"]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def welcomed(ws: Any) -> dict[str, Any]:
    message = await receive(ws)
    assert message["type"] == "welcome"
    return message


# --- authentication ------------------------------------------------------------------


async def test_a_connection_without_credentials_is_closed_with_1008(server: LiveServer) -> None:
    async with open_socket(server.ws_url()) as ws:
        assert await close_code(ws) == (1008, "invalid-credentials")


@pytest.mark.parametrize(
    "query", ["?access_token=not-a-token", "?access_token=eyJhbGciOiJIUzI1NiJ9.e30.x"]
)
async def test_an_invalid_token_is_closed_with_1008(server: LiveServer, query: str) -> None:
    async with open_socket(server.ws_url(query)) as ws:
        assert await close_code(ws) == (1008, "invalid-credentials")


async def test_an_invalid_token_in_the_subprotocol_is_closed_with_1008(
    server: LiveServer,
) -> None:
    async with open_socket(server.ws_url(), subprotocols=["bearer", "forged"]) as ws:
        assert ws.subprotocol == "bearer"
        assert await close_code(ws) == (1008, "invalid-credentials")


async def test_a_revoked_session_token_is_refused(server: LiveServer, world: World) -> None:
    user = await world.user()
    token = await world.access_token(user)
    session_id = server.platform.tokens.verify_access_token(token).session_id
    async with server.platform.database.session_factory() as session:
        await identity.revoke_session(session, server.platform.cache, session_id, "logout")
        await session.commit()
    async with open_socket(server.ws_url(f"?access_token={token}")) as ws:
        assert await close_code(ws) == (1008, "invalid-credentials")


async def test_a_token_in_the_query_or_the_subprotocol_opens_the_connection(
    server: LiveServer, world: World
) -> None:
    user = await world.user()
    token = await world.access_token(user)
    async with open_socket(server.ws_url(f"?access_token={token}")) as ws:
        welcome = await welcomed(ws)
        assert welcome["data"]["user_id"] == str(user.id)
        assert welcome["data"]["heartbeat_seconds"] == 5.0
    async with open_socket(server.ws_url(), subprotocols=["bearer", token]) as ws:
        assert ws.subprotocol == "bearer"
        assert (await welcomed(ws))["data"]["user_id"] == str(user.id)


async def test_a_session_cookie_is_accepted_only_from_a_trusted_origin(
    start_server: ServerFactory,
) -> None:
    server = await start_server(trusted_origins=["https://app.example.com"])
    world = World(server.platform)
    try:
        user = await world.user()
        cookie = {"Cookie": f"mp_session={await world.cookie(user)}"}
        async with open_socket(
            server.ws_url(), headers=cookie, origin="https://evil.example.net"
        ) as ws:
            assert await close_code(ws) == (1008, "origin-refused")
        async with open_socket(server.ws_url(), headers=cookie) as ws:  # no Origin at all
            assert await close_code(ws) == (1008, "origin-refused")
        async with open_socket(
            server.ws_url(), headers=cookie, origin="https://app.example.com"
        ) as ws:
            assert (await welcomed(ws))["data"]["user_id"] == str(user.id)
    finally:
        await world.cleanup()


async def test_a_revoked_session_closes_the_open_connection(
    start_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realtime_router, "REVALIDATE_SECONDS", 0.2)
    server = await start_server(realtime_heartbeat_seconds=1.0)
    world = World(server.platform)
    try:
        user = await world.user()
        token = await world.access_token(user)
        async with open_socket(server.ws_url(), subprotocols=["bearer", token]) as ws:
            await welcomed(ws)
            await ws.send('{"type": "pong"}')
            session_id = server.platform.tokens.verify_access_token(token).session_id
            async with server.platform.database.session_factory() as session:
                await identity.revoke_session(session, server.platform.cache, session_id, "logout")
                await session.commit()
            code = None
            while code is None:  # keep the heartbeat happy until the re-check
                try:
                    message = await receive(ws)
                except Exception:
                    code = ws.close_code
                    break
                if message["type"] == "ping":
                    await ws.send('{"type": "pong"}')
            assert (code, ws.close_reason) == (1008, "credentials expired or revoked")
    finally:
        await world.cleanup()


# --- what is delivered to whom -------------------------------------------------------


async def test_events_and_notifications_reach_only_the_entitled_users(
    server: LiveServer, world: World
) -> None:
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner")
    admin = await world.member(supplier, "admin")
    viewer = await world.member(supplier, "viewer")
    rival = await world.company(kind="supplier")
    rival_owner = await world.member(rival, "owner")
    outsider = await world.user()
    sockets = {}
    async with (
        open_socket(server.ws_url(f"?access_token={await world.access_token(admin)}")) as admin_ws,
        open_socket(
            server.ws_url(f"?access_token={await world.access_token(viewer)}")
        ) as viewer_ws,
        open_socket(
            server.ws_url(f"?access_token={await world.access_token(rival_owner)}")
        ) as rival_ws,
        open_socket(
            server.ws_url(f"?access_token={await world.access_token(outsider)}")
        ) as outsider_ws,
    ):
        sockets = {"admin": admin_ws, "viewer": viewer_ws, "rival": rival_ws, "out": outsider_ws}
        for ws in sockets.values():
            await welcomed(ws)

        created = await create_api_key(server, world, owner, supplier)

        both = await gather_messages(admin_ws, {"event": 1, "notification": 1})
        event = both["event"][0]
        assert event["data"]["type"] == "api_key.created"
        assert event["data"]["payload"]["api_key_id"] == created["id"]
        assert event["data"]["payload"]["company_id"] == str(supplier.id)
        assert event["data"]["actor_user_id"] == str(owner.id)
        assert "ip" not in event["data"]
        assert "key" not in event["data"]["payload"]  # never the secret
        notification = both["notification"][0]
        assert notification["data"]["title"] == "New API key"
        assert notification["data"]["event_id"] == event["data"]["id"]

        # Every member sees the company's events; only admins get the notification.
        viewer_event = await next_of(viewer_ws, {"event"})
        assert viewer_event["data"]["id"] == event["data"]["id"]
        assert await quiet_for(viewer_ws, 1.0) == []
        # Another tenant and a user of no company receive nothing at all.
        assert await quiet_for(rival_ws, 1.0) == []
        assert await quiet_for(outsider_ws, 0.1) == []


async def test_staff_receive_events_that_belong_to_no_company(
    server: LiveServer, world: World
) -> None:
    staff = await world.user(is_staff=True)
    company = await world.company()
    member = await world.member(company, "owner")
    async with (
        open_socket(server.ws_url(f"?access_token={await world.access_token(staff)}")) as staff_ws,
        open_socket(
            server.ws_url(f"?access_token={await world.access_token(member)}")
        ) as member_ws,
    ):
        await welcomed(staff_ws)
        await welcomed(member_ws)
        subject = uuid.uuid4()
        async with server.platform.database.session_factory() as session:
            envelope = await emit(session, PlatformNoticed(subject_id=subject))
            await session.commit()
        world.event_ids.append(envelope.id)
        event = await next_of(staff_ws, {"event"})
        assert event["data"]["id"] == str(envelope.id)
        assert event["data"]["company_ids"] == []
        assert await quiet_for(member_ws, 1.0) == []
    await world.sql("DELETE FROM outbox_events WHERE id = :id", id=envelope.id)


# --- resume --------------------------------------------------------------------------


async def test_a_reconnecting_client_resumes_what_it_missed(
    server: LiveServer, world: World
) -> None:
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner")
    admin = await world.member(supplier, "admin")
    rival = await world.company(kind="supplier")
    rival_owner = await world.member(rival, "owner")
    token = await world.access_token(admin)

    async with open_socket(server.ws_url(f"?access_token={token}")) as ws:
        await welcomed(ws)
        await create_api_key(server, world, owner, supplier, name="first")
        both = await gather_messages(ws, {"event": 1, "notification": 1})
        first = both["event"][0]
        first_notification = both["notification"][0]

    # Offline: two more events of the company, and one of another tenant.
    await create_api_key(server, world, owner, supplier, name="second")
    await create_api_key(server, world, owner, supplier, name="third")
    await create_api_key(server, world, rival_owner, rival, name="rival")
    for _ in range(100):  # until the consumer wrote both notifications
        rows = await world.sql(
            "SELECT count(*) FROM notifications WHERE user_id = :id", id=admin.id
        )
        if rows[0][0] == 3:
            break
        await asyncio.sleep(0.1)

    async with open_socket(server.ws_url(f"?access_token={token}")) as ws:
        await welcomed(ws)
        await ws.send(orjson.dumps({"type": "resume", "after": first["data"]["id"]}).decode())
        replay = []
        while (message := await next_of(ws, {"event", "notification", "resumed"}))[
            "type"
        ] != "resumed":
            replay.append(message)
        summary = message["data"]
        kinds = [
            (item["type"], (item["data"].get("payload") or item["data"]["data"])["name"])
            for item in replay
        ]
        assert kinds == [
            ("event", "second"),
            ("notification", "second"),
            ("event", "third"),
            ("notification", "third"),
        ]
        assert summary["count"] == 4
        assert summary["complete"] is True
        assert summary["last"] == replay[-1]["data"]["event_id"]

        # A notification id is a marker too.
        await asyncio.sleep(1.0)  # one resume per second
        await ws.send(
            orjson.dumps({"type": "resume", "after": first_notification["data"]["id"]}).decode()
        )
        again = []
        while (message := await next_of(ws, {"event", "notification", "resumed"}))[
            "type"
        ] != "resumed":
            again.append(message["data"]["id"])
        assert again == [item["data"]["id"] for item in replay]


async def test_resume_refuses_unknown_and_foreign_markers(server: LiveServer, world: World) -> None:
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner")
    rival = await world.company(kind="supplier")
    rival_owner = await world.member(rival, "owner")
    rival_admin = await world.member(rival, "admin")
    async with open_socket(
        server.ws_url(f"?access_token={await world.access_token(rival_admin)}")
    ) as rival_ws:
        await welcomed(rival_ws)
        await create_api_key(server, world, rival_owner, rival)
        both = await gather_messages(rival_ws, {"event": 1, "notification": 1})
        foreign_event = both["event"][0]["data"]["id"]
        foreign_notification = both["notification"][0]["data"]["id"]

    async with open_socket(server.ws_url(f"?access_token={await world.access_token(owner)}")) as ws:
        await welcomed(ws)
        for marker in (str(uuid.uuid4()), foreign_event, foreign_notification):
            await ws.send(orjson.dumps({"type": "resume", "after": marker}).decode())
            failed = await next_of(ws, {"resume_failed", "resumed", "event"})
            assert failed == {
                "type": "resume_failed",
                "data": {"after": marker, "reason": "unknown"},
            }
            await asyncio.sleep(1.0)
        await ws.send('{"type": "resume"}')
        assert (await next_of(ws, {"error"}))["data"]["code"] == "invalid"
        await ws.send("not json")
        assert (await next_of(ws, {"error"}))["data"]["code"] == "invalid"
        await ws.send('{"type": "ping"}')
        assert await next_of(ws, {"pong"}) == {"type": "pong"}


# --- heartbeats and slow clients -----------------------------------------------------


async def test_a_silent_client_is_disconnected_and_a_responsive_one_is_kept(
    start_server: ServerFactory,
) -> None:
    server = await start_server(realtime_heartbeat_seconds=0.5)
    world = World(server.platform)
    try:
        user = await world.user()
        token = await world.access_token(user)
        async with (
            open_socket(server.ws_url(f"?access_token={token}")) as silent,
            open_socket(server.ws_url(f"?access_token={token}")) as responsive,
        ):
            await welcomed(silent)
            await welcomed(responsive)

            async def keep_alive() -> None:
                # Any message counts; sending often keeps a loaded test machine safe.
                while True:
                    await responsive.send('{"type": "pong"}')
                    await asyncio.sleep(0.1)

            answering = asyncio.create_task(keep_alive())
            assert await close_code(silent) == (1001, "heartbeat timeout")
            await asyncio.sleep(2.0)  # four heartbeats
            assert not answering.done()
            answering.cancel()
            assert server.hub.connection_count == 1
    finally:
        await world.cleanup()


async def test_a_client_that_cannot_keep_up_is_disconnected_with_bounded_memory(
    start_server: ServerFactory,
) -> None:
    server = await start_server(realtime_queue_size=8)
    world = World(server.platform)
    try:
        user = await world.user()
        async with open_socket(
            server.ws_url(f"?access_token={await world.access_token(user)}")
        ) as ws:
            await welcomed(ws)
            bus = bus_for(server.platform)
            burst = [
                (user_channel(bus, user.id), orjson.dumps({"type": "event", "data": {"n": n}}))
                for n in range(200)
            ]
            # Faster than any client: the whole burst is dispatched before one send.
            await bus.publish(burst)
            received = 0
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await receive(ws)
                    received += 1
            assert received <= 8
            assert (ws.close_code, ws.close_reason) == (1013, "too slow: reconnect and resume")
        for _ in range(50):
            if server.hub.connection_count == 0:
                break
            await asyncio.sleep(0.05)
        assert server.hub.connection_count == 0
    finally:
        await world.cleanup()


async def test_a_member_removed_while_connected_stops_receiving_the_companys_events(
    server: LiveServer, world: World
) -> None:
    supplier = await world.company(kind="supplier")
    owner = await world.member(supplier, "owner")
    leaving = await world.member(supplier, "sales")
    async with open_socket(
        server.ws_url(f"?access_token={await world.access_token(leaving)}")
    ) as ws:
        await welcomed(ws)
        await create_api_key(server, world, owner, supplier, name="before")
        assert (await next_of(ws, {"event"}))["data"]["payload"]["name"] == "before"

        await world.sql(
            "DELETE FROM memberships WHERE company_id = :company AND user_id = :user",
            company=supplier.id,
            user=leaving.id,
        )
        await create_api_key(server, world, owner, supplier, name="after")
        assert await quiet_for(ws, 2.0) == []


async def test_an_api_key_cannot_open_a_live_connection(server: LiveServer, world: World) -> None:
    async with open_socket(server.ws_url(), headers={"X-API-Key": "mpk_anything"}) as ws:
        assert await close_code(ws) == (1008, "invalid-credentials")


async def test_a_client_that_stops_reading_is_dropped_before_memory_grows(
    start_server: ServerFactory,
) -> None:
    """Over real TCP: the client stops reading, the socket buffers fill, the server's
    send blocks, its queue fills, and the connection is closed."""
    server = await start_server(realtime_queue_size=8)
    world = World(server.platform)
    try:
        user = await world.user()
        ws = await connect(
            server.ws_url(f"?access_token={await world.access_token(user)}"),
            proxy=None,
            max_queue=1,  # the client library stops reading the socket at once
            ping_interval=None,
            open_timeout=15,
        )
        try:
            bus = bus_for(server.platform)
            big = orjson.dumps({"type": "event", "data": {"blob": "x" * 65_536}})
            deadline = asyncio.get_running_loop().time() + 30
            sent = 0
            while server.hub.connection_count and asyncio.get_running_loop().time() < deadline:
                await bus.publish([(user_channel(bus, user.id), big)] * 10)
                sent += 10
                await asyncio.sleep(0.02)
            assert server.hub.connection_count == 0
            assert sent < 2_000  # dropped after a few MB of socket buffers, not unbounded
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
    finally:
        await world.cleanup()
