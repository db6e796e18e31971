"""The notifications API: the recipient's inbox, read state, preferences."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.companies.permissions import Scope
from marketplace.identity.models import User
from marketplace.notifications.models import Notification, NotificationPreference
from tests.factories import bearer_headers, make_api_key, make_company, make_user

BASE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def make_notification(
    session: AsyncSession,
    user: User,
    *,
    title: str = "New API key",
    minutes: int = 0,
    read: bool = False,
    event_type: str = "api_key.created",
) -> Notification:
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user.id,
        event_id=uuid.uuid4(),
        event_type=event_type,
        title=title,
        body=f"{title}.",
        link="/companies/x/api-keys",
        data={"name": title},
        created_at=BASE + timedelta(minutes=minutes),
        read_at=BASE if read else None,
    )
    session.add(notification)
    await session.flush()
    return notification


async def test_the_inbox_lists_newest_first_with_a_cursor(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    other = await make_user(db_session)
    for minute in range(5):
        await make_notification(db_session, user, title=f"n{minute}", minutes=minute)
    await make_notification(db_session, other, title="not yours", minutes=10)
    headers = await bearer_headers(app, db_session, user)

    first = await client.get("/api/v1/notifications", params={"limit": 3}, headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert [item["title"] for item in body["items"]] == ["n4", "n3", "n2"]
    assert body["items"][0]["body"] == "n4."
    assert body["items"][0]["data"] == {"name": "n4"}
    assert body["items"][0]["read_at"] is None
    second = await client.get(
        "/api/v1/notifications",
        params={"limit": 3, "cursor": body["next_cursor"]},
        headers=headers,
    )
    assert [item["title"] for item in second.json()["items"]] == ["n1", "n0"]
    assert second.json()["next_cursor"] is None


async def test_unread_filter_and_count(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    await make_notification(db_session, user, title="read", minutes=1, read=True)
    await make_notification(db_session, user, title="unread a", minutes=2)
    await make_notification(db_session, user, title="unread b", minutes=3)
    headers = await bearer_headers(app, db_session, user)

    unread = await client.get("/api/v1/notifications?unread=true", headers=headers)
    assert [item["title"] for item in unread.json()["items"]] == ["unread b", "unread a"]
    count = await client.get("/api/v1/notifications/unread-count", headers=headers)
    assert count.status_code == 200
    assert count.json() == {"unread": 2}


async def test_marking_read_is_idempotent_and_keeps_the_first_read_time(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    notification = await make_notification(db_session, user)
    headers = await bearer_headers(app, db_session, user)

    first = await client.post(f"/api/v1/notifications/{notification.id}/read", headers=headers)
    assert first.status_code == 200
    read_at = first.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"/api/v1/notifications/{notification.id}/read", headers=headers)
    assert again.json()["read_at"] == read_at
    count = await client.get("/api/v1/notifications/unread-count", headers=headers)
    assert count.json() == {"unread": 0}


async def test_read_all_marks_only_the_callers_notifications(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    other = await make_user(db_session)
    for minute in range(3):
        await make_notification(db_session, user, minutes=minute)
    await make_notification(db_session, user, minutes=5, read=True)
    theirs = await make_notification(db_session, other)
    headers = await bearer_headers(app, db_session, user)

    response = await client.post("/api/v1/notifications/read-all", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    await db_session.refresh(theirs)
    assert theirs.read_at is None
    unread_of_user = await db_session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    assert unread_of_user == 0


async def test_another_users_notification_is_not_found_and_stays_unread(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    owner = await make_user(db_session)
    intruder = await make_user(db_session)
    notification = await make_notification(db_session, owner)
    headers = await bearer_headers(app, db_session, intruder)

    response = await client.post(f"/api/v1/notifications/{notification.id}/read", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "The notification does not exist."
    listing = await client.get("/api/v1/notifications", headers=headers)
    assert listing.json() == {"items": [], "next_cursor": None}
    await db_session.refresh(notification)
    assert notification.read_at is None
    missing = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=headers)
    assert missing.status_code == 404


async def test_anonymous_and_api_key_callers_are_refused(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    owner = await make_user(db_session)
    company = await make_company(db_session, owner=owner)
    notification = await make_notification(db_session, owner)
    _key, key_headers = await make_api_key(app, db_session, company, [Scope.ORDERS_READ])

    for method, path in [
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/unread-count"),
        ("POST", "/api/v1/notifications/read-all"),
        ("POST", f"/api/v1/notifications/{notification.id}/read"),
        ("GET", "/api/v1/me/notification-preferences"),
    ]:
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401, path
        with_key = await client.request(method, path, headers=key_headers)
        assert with_key.status_code == 403, path
    await db_session.refresh(notification)
    assert notification.read_at is None


async def test_preferences_have_sensible_defaults(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, email="prefs@example.com")
    headers = await bearer_headers(app, db_session, user)

    response = await client.get("/api/v1/me/notification-preferences", headers=headers)
    assert response.status_code == 200
    by_type = {item["event_type"]: item for item in response.json()}
    assert by_type["order.placed"] == {
        "event_type": "order.placed",
        "in_app": True,
        "email": True,
        "sms": False,  # has an e-mail address
        "important": True,
    }
    assert by_type["api_key.revoked"] == {
        "event_type": "api_key.revoked",
        "in_app": True,
        "email": False,
        "sms": False,
        "important": False,
    }


async def test_sms_is_on_by_default_for_phone_only_users(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, phone="+4915100000001")
    headers = await bearer_headers(app, db_session, user)
    response = await client.get("/api/v1/me/notification-preferences", headers=headers)
    by_type = {item["event_type"]: item for item in response.json()}
    assert by_type["order.placed"]["sms"] is True
    assert by_type["member.removed"]["sms"] is False


async def test_putting_preferences_sets_and_resets_channels(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    headers = await bearer_headers(app, db_session, user)

    response = await client.put(
        "/api/v1/me/notification-preferences",
        json={
            "preferences": [
                {"event_type": "order.placed", "email": False, "sms": True},
                {"event_type": "member.joined", "in_app": False},
            ]
        },
        headers=headers,
    )
    assert response.status_code == 200
    by_type = {item["event_type"]: item for item in response.json()}
    assert (by_type["order.placed"]["in_app"], by_type["order.placed"]["email"]) == (True, False)
    assert by_type["order.placed"]["sms"] is True
    assert by_type["member.joined"]["in_app"] is False

    # Left out (or null): back to the default; other types keep their settings.
    reset = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"event_type": "order.placed"}]},
        headers=headers,
    )
    by_type = {item["event_type"]: item for item in reset.json()}
    assert by_type["order.placed"]["email"] is True
    assert by_type["order.placed"]["sms"] is False
    assert by_type["member.joined"]["in_app"] is False
    stored = await db_session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user.id,
            NotificationPreference.event_type == "order.placed",
        )
    )
    assert stored is not None
    assert (stored.in_app, stored.email, stored.sms) == (None, None, None)


async def test_unknown_event_types_and_fields_are_rejected(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    user = await make_user(db_session)
    headers = await bearer_headers(app, db_session, user)
    for body in [
        {"preferences": [{"event_type": "nothing.happened", "email": True}]},
        {"preferences": [{"event_type": "order.placed", "push": True}]},
        {"preferences": [{"event_type": "order.placed", "email": "sometimes"}]},
    ]:
        response = await client.put(
            "/api/v1/me/notification-preferences", json=body, headers=headers
        )
        assert response.status_code == 422, body
    count = await db_session.scalar(
        select(func.count()).where(NotificationPreference.user_id == user.id)
    )
    assert count == 0
