"""The messages of the live-update protocol (JSON text frames).

Server → client, every one `{"type": ..., "data": ...}`:
- `welcome` `{user_id, heartbeat_seconds, resume_limit}`: the connection is live.
- `event` (`LiveEvent`): a domain event of a company you are a member of (staff:
  platform events that belong to no company).
- `notification` (a notification of the HTTP API): a new notification for you.
- `ping`: answer with `{"type": "pong"}` (any message counts); a connection silent
  for two heartbeats is closed (1001).
- `pong`: the answer to your `ping`.
- `resumed` `{after, count, complete, last}`: the end of a resume; when `complete`
  is false, resume again after `last`.
- `resume_failed` `{reason}`: the marker is unknown, not yours or too old: reload
  through the HTTP API.
- `gap`: live delivery was interrupted; send `resume` with the last id you saw.
- `error` `{code, detail}`: your message was not understood.

Client → server: `{"type": "resume", "after": "<event id or notification id>"}`,
`{"type": "ping"}`, `{"type": "pong"}`.

Delivery is at least once across resumes: dedupe by `data.id`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from marketplace.core.bus import message
from marketplace.core.events import EventEnvelope


class LiveEvent(BaseModel):
    """An event as clients see it: without the actor's address and request id."""

    id: uuid.UUID
    type: str
    version: int
    aggregate_type: str
    aggregate_id: uuid.UUID
    company_ids: list[uuid.UUID]
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_is_staff: bool
    occurred_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, envelope: EventEnvelope) -> LiveEvent:
        return cls.model_validate(envelope.model_dump(exclude={"request_id", "ip"}))


class TicketRead(BaseModel):
    ticket: str
    expires_in: int


class ClientMessage(BaseModel):
    type: str
    after: uuid.UUID | None = None


def event_message(envelope: EventEnvelope) -> bytes:
    return message("event", LiveEvent.of(envelope))
