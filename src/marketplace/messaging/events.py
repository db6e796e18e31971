"""Events of messaging."""

from __future__ import annotations

import uuid
from typing import ClassVar

from marketplace.core.events import DomainEvent


class MessagePosted(DomainEvent):
    """A message in a thread: both companies are entitled (live updates, webhooks,
    their audit logs); notifications go to the other side (`author_company_id`)."""

    type: ClassVar[str] = "message.posted"
    aggregate_type: ClassVar[str] = "thread"
    thread_id: uuid.UUID
    message_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    author_company_id: uuid.UUID
    author_user_id: uuid.UUID | None
    body: str
    # {id, filename, content_type, size} per attachment (no storage keys).
    attachments: list[dict[str, object]]

    def aggregate_id(self) -> uuid.UUID:
        return self.thread_id

    def company_ids(self) -> list[uuid.UUID]:
        return [self.buyer_id, self.supplier_id]
