"""Request and response bodies of notifications and notification preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from marketplace.core.text import Text
from marketplace.notifications.rules import RULES


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    company_id: uuid.UUID | None
    event_id: uuid.UUID
    event_type: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class UnreadCount(BaseModel):
    unread: int = Field(description="Unread notifications (counted up to 10000).")


class ReadAllResult(BaseModel):
    updated: int


class PreferenceRead(BaseModel):
    """Effective settings of one event type: the user's choice, else the default."""

    event_type: str
    in_app: bool
    email: bool
    sms: bool
    important: bool = Field(description="E-mail (or SMS without e-mail) is on by default.")


class PreferenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: Text
    # None (or left out) returns the channel to its default.
    in_app: bool | None = None
    email: bool | None = None
    sms: bool | None = None

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in RULES:
            raise ValueError(f"unknown event type; one of: {', '.join(sorted(RULES))}")
        return value


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: list[PreferenceUpdate] = Field(max_length=len(RULES))
