"""Bodies of staff management."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class StaffStatus(BaseModel):
    user_id: uuid.UUID
    is_staff: bool
