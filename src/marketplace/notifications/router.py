"""The signed-in user's notifications and notification preferences."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from marketplace.core.deps import SessionDep
from marketplace.core.pagination import Cursor, Limit, Page
from marketplace.identity.deps import CurrentUser
from marketplace.notifications import service
from marketplace.notifications.schemas import (
    NotificationRead,
    PreferenceRead,
    PreferencesUpdate,
    ReadAllResult,
    UnreadCount,
)

notifications_router = APIRouter(prefix="/notifications", tags=["notifications"])
preferences_router = APIRouter(prefix="/me/notification-preferences", tags=["notifications"])


@notifications_router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    current: CurrentUser,
    session: SessionDep,
    unread: Annotated[bool, Query(description="Only unread notifications.")] = False,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[NotificationRead]:
    """Your notifications, newest first."""
    return await service.list_notifications(
        session, current.user.id, unread_only=unread, limit=limit, cursor=cursor
    )


@notifications_router.get("/unread-count", response_model=UnreadCount)
async def unread_count(current: CurrentUser, session: SessionDep) -> UnreadCount:
    """How many of your notifications are unread."""
    return await service.unread_count(session, current.user.id)


@notifications_router.post("/read-all", response_model=ReadAllResult)
async def read_all(current: CurrentUser, session: SessionDep) -> ReadAllResult:
    """Mark all your notifications read."""
    return await service.mark_all_read(session, current.user.id)


@notifications_router.post("/{notification_id}/read", response_model=NotificationRead)
async def read_one(
    notification_id: uuid.UUID, current: CurrentUser, session: SessionDep
) -> NotificationRead:
    """Mark one of your notifications read (idempotent: the first read time stays)."""
    return await service.mark_read(session, current.user.id, notification_id)


@preferences_router.get("", response_model=list[PreferenceRead])
async def get_preferences(current: CurrentUser, session: SessionDep) -> list[PreferenceRead]:
    """Per event type, whether you are told in the app, by e-mail and by SMS."""
    return await service.preferences(session, current.user)


@preferences_router.put("", response_model=list[PreferenceRead])
async def put_preferences(
    body: PreferencesUpdate, current: CurrentUser, session: SessionDep
) -> list[PreferenceRead]:
    """Set the channels of the listed event types; a channel left out (or null) goes
    back to its default. Other event types keep their settings."""
    return await service.update_preferences(session, current.user, body.preferences)
