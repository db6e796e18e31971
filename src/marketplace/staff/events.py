"""Events of staff management; staff-only (no company receives them)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent


class StaffEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "user"
    user_id: uuid.UUID

    def aggregate_id(self) -> uuid.UUID:
        return self.user_id

    def company_ids(self) -> list[uuid.UUID]:
        return []


class StaffGranted(StaffEvent):
    type: ClassVar[str] = "staff.granted"


class StaffRevoked(StaffEvent):
    type: ClassVar[str] = "staff.revoked"
