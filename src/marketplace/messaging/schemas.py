"""Threads, messages and read receipts as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from marketplace.core.text import MultilineText

SubjectType = Literal["rfq", "quote", "order"]

MAX_BODY_CHARS = 10_000


class ThreadCreate(BaseModel):
    """Open (or find) the conversation about an RFQ, a quote or an order."""

    model_config = ConfigDict(extra="forbid")

    subject_type: SubjectType
    subject_id: uuid.UUID
    # The supplier of an RFQ conversation, when the buyer opens it; implied otherwise
    # (the quote's or order's supplier, or the supplier that opens it).
    supplier_id: uuid.UUID | None = None


class MessageCreate(BaseModel):
    """The text of a message (JSON, or the `body` field of a multipart upload)."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[
        MultilineText, StringConstraints(strip_whitespace=True, max_length=MAX_BODY_CHARS)
    ] = ""


class AttachmentRead(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    url: str


class MessageRead(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    author_company_id: uuid.UUID
    author_user_id: uuid.UUID | None
    body: str
    attachments: list[AttachmentRead]
    created_at: datetime


class ThreadRead(BaseModel):
    id: uuid.UUID
    subject_type: SubjectType
    subject_id: uuid.UUID
    buyer_id: uuid.UUID
    supplier_id: uuid.UUID
    created_at: datetime
    last_message_at: datetime | None
    # Activity order of the thread list: the last message, else the opening.
    last_activity_at: datetime
    # For the calling user: messages by others after their read receipt (None for
    # API keys and staff, who keep no receipts).
    unread_count: int | None
    my_last_read_at: datetime | None
    # The furthest any member of the other company has read.
    other_side_last_read_at: datetime | None


class ReadReceipt(BaseModel):
    thread_id: uuid.UUID
    user_id: uuid.UUID
    last_read_at: datetime
