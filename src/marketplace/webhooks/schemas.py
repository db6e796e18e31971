"""Request and response bodies of webhook endpoints and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from marketplace.core.text import MultilineText, Text

ALL_EVENT_TYPES = "*"
MAX_EVENT_TYPES = 100

Url = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Description = Annotated[MultilineText, StringConstraints(strip_whitespace=True, max_length=500)]
EventType = Annotated[Text, StringConstraints(min_length=1, max_length=100)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _normalise_event_types(value: list[str]) -> list[str]:
    """Sorted and without repeats; "*" (every event) stands alone. Whether each type
    exists is checked by the service, which knows the registered events."""
    unique = sorted(set(value))
    if ALL_EVENT_TYPES in unique and len(unique) > 1:
        raise ValueError('"*" already means every event type; list nothing beside it')
    return unique


class WebhookCreate(Input):
    url: Url = Field(description="HTTPS URL receiving the deliveries (POST).")
    event_types: list[EventType] = Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description='Event types to receive, or ["*"] for every event of your company.',
    )
    description: Description = ""

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, value: list[str]) -> list[str]:
        return _normalise_event_types(value)


class WebhookUpdate(Input):
    url: Url | None = None
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=MAX_EVENT_TYPES
    )
    description: Description | None = None
    is_enabled: bool | None = Field(
        default=None, description="false stops deliveries; true resumes them."
    )

    @field_validator("event_types")
    @classmethod
    def _event_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _normalise_event_types(value)

    @field_validator("url", "description", "is_enabled", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave the field out instead of sending null")
        return value


class SecretRotate(Input):
    grace_period_seconds: int | None = Field(
        default=None,
        ge=0,
        le=604_800,
        description="How long the previous secret keeps signing beside the new one "
        "(default: the platform's setting, usually 24 hours; 0 ends it now, e.g. after "
        "a leak).",
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    company_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    is_enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description='"manual" (someone disabled it) or "failing" (disabled automatically '
        "after its deliveries failed for days)."
    )
    failing_since: datetime | None
    last_success_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries carry a second signature, made with the previous secret."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret. Shown only in this response.")


class WebhookSecret(BaseModel):
    secret: str = Field(description="The new signing secret. Shown only in this response.")
    previous_secret_expires_at: datetime | None


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_id: uuid.UUID = Field(validation_alias="endpoint_id")
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus = Field(
        description="pending (not tried yet), retrying (failed, tried again at "
        "next_attempt_at), delivered (a 2xx answer) or dead (failed every try)."
    )
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_status_code: int | None
    response_time_ms: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
