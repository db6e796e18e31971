"""Events of the identity domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from marketplace.core.events import DomainEvent


class ApiKeyEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "api_key"
    api_key_id: uuid.UUID
    company_id: uuid.UUID
    name: str
    prefix: str

    def aggregate_id(self) -> uuid.UUID:
        return self.api_key_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.company_id]


class ApiKeyCreated(ApiKeyEvent):
    type: ClassVar[str] = "api_key.created"
    scopes: list[str]
    expires_at: datetime | None


class ApiKeyRevoked(ApiKeyEvent):
    type: ClassVar[str] = "api_key.revoked"
